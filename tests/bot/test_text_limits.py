"""The one splitter and the one input cap every channel and handoff use."""

from __future__ import annotations

from bot.text_limits import (
    MAX_INCOMING_TEXT,
    RELAY_PIECE,
    cap_input,
    relay_pieces,
    split_text,
    utf16_len,
)


def test_input_is_capped_not_refused() -> None:
    story = "Chồng tôi đánh tôi. " * 1000
    assert cap_input(story) == story[:MAX_INCOMING_TEXT] and MAX_INCOMING_TEXT == 10_000
    assert cap_input("ngắn") == "ngắn"


def test_relayed_words_are_cut_between_sentences() -> None:
    sentence = "Tôi sợ lắm, anh ấy sắp về nhà. "
    text = sentence * 300  # about 9 300 characters
    pieces = relay_pieces(text)
    assert len(pieces) == 3
    assert all(len(p) <= RELAY_PIECE and p.endswith("nhà.") for p in pieces)
    assert " ".join(pieces) == text.strip()
    assert relay_pieces("   ") == [""]


def test_a_break_right_after_the_limit_is_used() -> None:
    assert split_text("abcd efgh", 4) == ["abcd", "efgh"]
    assert split_text("ab. cd", 3) == ["ab.", "cd"]


def test_utf16_measure_never_cuts_an_emoji_in_half() -> None:
    pieces = split_text("a" + "😢" * 10, 6, measure=utf16_len)
    assert all(utf16_len(p) <= 6 for p in pieces)
    assert "".join(pieces) == "a" + "😢" * 10

"""Recorded Bot API updates → Incoming: the fields the engine, erase and handoff rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.channels.telegram.convert import translate
from bot.channels.telegram.render import discreet_text, split_text
from bot.text_limits import utf16_len

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "telegram"
BOT = "hoidap_test_bot"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def seen(name: str) -> Any:
    return translate(Update.de_json(fixture(name), None), bot_username=BOT)


def test_text_message_keeps_text_and_a_per_chat_dedupe_id() -> None:
    t = seen("text")
    assert t.incoming is not None
    assert (t.incoming.channel, t.incoming.address) == ("telegram", "555000111")
    assert t.incoming.text == "toi bi chong danh" and t.incoming.payload is None
    assert t.incoming.message_id == "m41" and t.own_message_id == 41
    assert t.incoming.language_hint == "vi" and t.incoming.sender_id is None


def test_start_with_deep_link_is_the_start_command_and_drops_the_parameter() -> None:
    t = seen("start_deeplink")
    assert t.incoming is not None and t.incoming.payload == "cmd:start"
    assert t.incoming.text is None, "the deep-link parameter is not passed on"


@pytest.mark.parametrize(
    ("text", "payload"),
    [
        ("/menu", "cmd:menu"),
        ("/help", "cmd:help"),
        ("/stop", "cmd:stop"),
        ("/lang", "cmd:lang"),
        ("/xoa", "cmd:erase"),
        ("/erase", "cmd:erase"),
        ("/privacy", "cmd:privacy"),
        ("/MENU@hoidap_test_bot", "cmd:menu"),
    ],
)
def test_user_commands_become_payloads(text: str, payload: str) -> None:
    data = fixture("command_menu")
    data["message"]["text"] = text
    t = translate(Update.de_json(data, None), bot_username=BOT)
    assert t.incoming is not None and t.incoming.payload == payload and t.incoming.text is None


@pytest.mark.parametrize("text", ["/end", "/release", "/to K7Q2 chị ơi", "/menu@other_bot"])
def test_other_commands_pass_through_as_text(text: str) -> None:
    data = fixture("command_menu")
    data["message"]["text"] = text
    t = translate(Update.de_json(data, None), bot_username=BOT)
    assert t.incoming is not None and t.incoming.text == text and t.incoming.payload is None


def test_button_press_carries_payload_and_the_message_it_was_on() -> None:
    t = seen("callback")
    assert t.incoming is not None and t.callback_id == "4382451239823412345"
    assert t.incoming.payload == "n:rights" and t.incoming.text is None
    assert t.incoming.message_id == "c4382451239823412345"
    assert t.incoming.button_message_id == "44" and t.incoming.address == "555000111"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sticker", "sticker"),
        ("photo", "photo"),
        ("voice", "voice"),
        ("audio", "audio"),
        ("video", "video"),
        ("video_note", "video_note"),
        ("document", "document"),
        ("animation", "animation"),
        ("location", "location"),
        ("contact", "contact"),
    ],
)
def test_non_text_kinds(name: str, kind: str) -> None:
    t = seen(name)
    assert t.incoming is not None and t.incoming.attachment == kind
    assert t.incoming.payload is None and t.own_message_id is not None


def test_photo_caption_is_read_like_text() -> None:
    t = seen("photo")
    assert t.incoming is not None and t.incoming.text == "anh vet thuong"


def test_edited_message_means_nothing_for_the_engine() -> None:
    t = seen("edited_message")
    assert t.incoming is None and t.edited and t.chat_id == 555000111


def test_group_message_addresses_the_group_and_names_the_sender() -> None:
    t = seen("team_command")
    assert t.is_group and t.incoming is not None
    assert t.incoming.address == "-1009876543210" and t.incoming.sender_id == "777000222"
    assert t.incoming.text == "/to K7Q2 chị ơi, em đây", "team commands reach handoff unchanged"
    assert t.own_message_id is None, "group messages are not recorded for erase"


def test_group_button_press_names_presser_and_card() -> None:
    t = seen("group_callback")
    assert t.is_group and t.incoming is not None
    assert t.incoming.address == "-1009876543210" and t.incoming.sender_id == "777000222"
    assert t.incoming.button_message_id == "303" and t.incoming.payload == "h:claim:42"


def test_bot_added_to_a_group_is_a_group_event_without_incoming() -> None:
    t = seen("group_added")
    assert t.is_group and t.incoming is None and t.chat_id == -1001234567890


def test_split_prefers_sentence_boundaries_and_respects_the_limit() -> None:
    sentence = "Bạn có quyền được bảo vệ theo luật. "
    text = sentence * 300  # about 10 800 characters
    parts = split_text(text)
    assert len(parts) == 3
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert all(p.endswith("luật.") for p in parts), "every part ends on a whole sentence"
    assert " ".join(parts) == text.strip()


def test_split_counts_emoji_as_two_units() -> None:
    parts = split_text("😢" * 3000)
    assert all(utf16_len(p) <= 4096 for p in parts) and "".join(parts) == "😢" * 3000


def test_discreet_first_line_is_neutral_in_her_language() -> None:
    assert discreet_text("Chị có an toàn không?").split("\n")[:2] == ["Tin nhắn mới", ""]
    assert discreet_text("Are you safe?").split("\n")[:2] == ["New message", ""]

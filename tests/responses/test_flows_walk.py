"""Walk every node of the real content in both languages, and press every button."""

from __future__ import annotations

import re

import pytest

from responses import Runner, load_runner
from responses.model import ENGINE_NODES
from responses.validate import MAX_LABEL_CHARS, MAX_PAYLOAD_BYTES, STYLE_TEXT_CHARS
from tests.responses.flowchat import LANGS, Chat, action_names, payloads, texts

NODE_IDS = sorted(load_runner().nodes)
PLACEHOLDERS = {
    "team_hours": "Thứ Hai–thứ Sáu, 7:30–21:00",
    "local_contacts": "Công an phường: 024 3825 1234",
}
VI_MARKS = re.compile(
    r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I
)


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("node_id", NODE_IDS)
@pytest.mark.parametrize("values", [None, PLACEHOLDERS], ids=["no-placeholders", "placeholders"])
def test_every_node_renders_short_complete_messages(
    runner: Runner, node_id: str, language: str, values: dict[str, str] | None
) -> None:
    messages = runner.render(node_id, language, values)
    assert messages, "a node says something"
    for message in messages:
        assert message.text.strip()
        assert len(message.text) <= STYLE_TEXT_CHARS  # far below Zalo's 2000
        assert "{" not in message.text and "}" not in message.text, message.text
    assert messages[-1].buttons, "every node offers a next step"
    assert len(messages[-1].buttons) <= 5, "Zalo shows five buttons"
    for button in messages[-1].buttons:
        assert 0 < len(button.label) <= MAX_LABEL_CHARS
        assert len(button.payload.encode()) <= MAX_PAYLOAD_BYTES


@pytest.mark.parametrize("node_id", NODE_IDS)
def test_vietnamese_texts_are_vietnamese(runner: Runner, node_id: str) -> None:
    for vi, en in zip(runner.render(node_id, "vi"), runner.render(node_id, "en"), strict=True):
        assert vi.text != en.text or len(vi.text) < 12
        if len(vi.text) > 20:
            assert VI_MARKS.search(vi.text), f"{node_id}: Vietnamese without diacritics?"


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("node_id", NODE_IDS)
def test_every_button_leads_somewhere(runner: Runner, node_id: str, language: str) -> None:
    expired = runner.render("expired", language)[0].text
    for payload in payloads_of(runner, node_id, language):
        chat = Chat(runner, language)
        chat.state = {"node": node_id, "slots": {}, "consent": True}
        result = chat.press(payload)
        assert result.messages or result.actions, f"{node_id}: {payload} does nothing"
        assert all(m.text != expired for m in result.messages), f"{node_id}: {payload} is dead"
        if result.messages:
            assert result.messages[-1].buttons


def payloads_of(runner: Runner, node_id: str, language: str) -> list[str]:
    return [b.payload for b in runner.render(node_id, language)[-1].buttons]


def test_placeholders_use_the_configured_value_or_a_sentence(runner: Runner) -> None:
    with_value = texts_of(
        runner, "services", "vi", {"local_contacts": "Hội Phụ nữ phường X: 0912 345 678"}
    )
    assert "Đầu mối tại địa phương:\nHội Phụ nữ phường X: 0912 345 678" in with_value
    default = texts_of(runner, "services", "en", {})
    assert "Women's Union" in default and "Local contacts" not in default
    blank = texts_of(runner, "handoff_queued", "en", {"team_hours": "  "})
    assert "The team works in shifts, so a reply may take a while." in blank
    hours = texts_of(runner, "handoff_queued", "vi", {"team_hours": "8:00–17:00"})
    assert "Giờ trực của tổ hỗ trợ: 8:00–17:00." in hours


def texts_of(runner: Runner, node_id: str, language: str, values: dict[str, str]) -> str:
    return "\n".join(m.text for m in runner.render(node_id, language, values))


@pytest.mark.parametrize(
    "node_id", [n for n in ENGINE_NODES if n.startswith("handoff_")] + ["erased"]
)
def test_notices_sent_later_have_a_neutral_first_line(runner: Runner, node_id: str) -> None:
    for language in LANGS:
        first_line = runner.render(node_id, language)[0].text.splitlines()[0].lower()
        for word in ("bạo lực", "violence", "abuse", "đánh", "nguy hiểm", "danger"):
            assert word not in first_line, (node_id, first_line)


def test_erased_leaves_one_neutral_message_that_says_how_to_remove_the_chat(runner: Runner) -> None:
    vi = runner.render("erased", "vi")
    en = runner.render("erased", "en")
    assert len(vi) == len(en) == 1, "erase leaves at most one line in her chat"
    assert vi[0].text.startswith("Đã xóa.") and en[0].text.startswith("Cleared.")
    assert "Telegram" in vi[0].text and "Zalo" in vi[0].text
    assert [b.label for b in vi[0].buttons] == ["Menu"], "only a neutral way back"
    for word in ("bạo lực", "violence", "hỗ trợ", "support"):
        assert word not in (vi[0].text + en[0].text).lower()


def test_advice_is_protected_and_chit_chat_is_not(runner: Runner) -> None:
    for node_id in ("emergency", "services", "rights_victim", "safety_pack", "privacy"):
        assert all(m.protect for m in runner.render(node_id, "vi")), node_id
    assert not runner.render("thanks", "vi")[0].protect


def test_services_give_the_verified_numbers_only(runner: Runner) -> None:
    for language in LANGS:
        chat = Chat(runner, language)
        text = texts(chat.say("so dien thoai", "ask_services"))
        for number in ("113", "115", "111", "1900 969 680", "1800 1233", "024 3333 5599"):
            assert number in text
        assert "1567" not in text
    all_text = "\n".join(
        m.text for n in runner.nodes for lang in LANGS for m in runner.render(n, lang)
    )
    assert "1800 1567" not in all_text and "04.3775" not in all_text
    assert (
        "national DV hotline" not in all_text and "đường dây nóng quốc gia" not in all_text.lower()
    )


def test_menu_reaches_the_main_topics(runner: Runner) -> None:
    chat = Chat(runner)
    menu = payloads(chat.press("cmd:menu"))
    assert {"n:rights_menu", "n:safety_menu", "n:services", "n:handoff_consent"} <= set(menu)


@pytest.mark.parametrize(
    "node_id",
    ["handoff_queued", "handoff_out_of_hours", "handoff_still_waiting", "handoff_connected"],
)
def test_notices_during_a_handoff_only_offer_commands(runner: Runner, node_id: str) -> None:
    # While a chat with the team is open the engine forwards commands, not other buttons.
    for language in LANGS:
        buttons = runner.render(node_id, language)[-1].buttons
        assert buttons and all(b.payload.startswith("cmd:") for b in buttons)
        assert "cmd:stop" in [b.payload for b in buttons]


@pytest.mark.parametrize("language", LANGS)
def test_disclosure_asks_the_engine_to_offer_checkins(runner: Runner, language: str) -> None:
    chat = Chat(runner, language)
    result = chat.say("toi bi ck danh", "disclose_abuse")
    assert "offer_checkin" in action_names(result)
    offer = runner.render("checkin_offer", language)[-1]
    assert [b.payload for b in offer.buttons][:3] == ["a:checkin:1", "a:checkin:3", "a:checkin:7"]


@pytest.mark.parametrize("language", LANGS)
def test_checkin_choice_and_stop_walk(runner: Runner, language: str) -> None:
    chat = Chat(runner, language)
    chosen = chat.press("a:checkin:3")
    assert [(c.action.value, c.args) for c in chosen.actions] == [("checkin", {"days": 3})]
    assert "a:checkin:off" in payloads(chosen)
    stopped = chat.press("a:checkin:off")
    assert action_names(stopped) == ["checkin_stop"]
    assert texts(stopped) == runner.render("checkin_stopped", language)[0].text
    # A forged number of days is an expired button, not a check-in.
    assert not chat.press("a:checkin:365").actions


def test_voice_choice_is_the_handoffs_to_answer(runner: Runner) -> None:
    chat = Chat(runner, "vi", in_handoff=True)
    for payload, send in (("a:voice:send", True), ("a:voice:text", False)):
        result = chat.press(payload)
        assert [(c.action.value, c.args) for c in result.actions] == [
            ("voice_choice", {"send": send})
        ]

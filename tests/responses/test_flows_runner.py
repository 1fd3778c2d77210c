"""Turn-by-turn behaviour of the runner, as a person on the phone would notice it."""

from __future__ import annotations

import hashlib
import json

import pytest

from bot.interfaces import TurnContext, TurnResult
from responses import Runner
from responses.model import TAXONOMY_INTENTS
from tests.responses.flowchat import LANGS, Chat, action_names, payloads, texts

#: What a person sees after each intent: (a phrase of the answer in vi, in en, a button payload).
EXPECTED = {
    "greet": ("Xin chào", "Hello", "n:rights_menu"),
    "goodbye": ("bình an", "Take care", "n:erase_confirm"),
    "thanks": ("Không có gì", "welcome", "n:menu_more"),
    "emergency": ("113", "113", "n:handoff_consent"),
    "disclose_abuse": ("Mình tin bạn", "I believe you", "n:rights_menu"),
    "ask_rights": ("13/2022/QH15", "13/2022/QH15", "n:rights_no_contact"),
    "ask_safety": ("kế hoạch an toàn", "safety plan", "n:safety_tech"),
    "ask_services": ("1900 969 680", "1900 969 680", "n:services_shelter"),
    "request_human": ("#K7Q2", "#K7Q2", "a:consent"),
    "report_concern": ("Lắng nghe", "Listen", "n:concern_ask_first"),
    "ask_privacy": ("mã hóa", "encrypted", "n:discreet"),
    "delete_data": ("Xóa hết", "Erase every record", "a:erase"),
    "affirm": ("Bạn muốn xem", "Which would", "n:services"),
    "deny": ("Không sao", "That's okay", "n:services"),
    "stop": ("Đã dừng", "Stopped", "n:menu"),
    "help": ("Bạn muốn xem gì", "What would you like", "n:menu_more"),
    "out_of_scope": ("chưa giúp được", "can't help", "n:rights_menu"),
    "ask_evidence": ("bằng chứng", "evidence", "n:evidence_assessment"),
    "ask_call_113": ("miễn phí", "free", "n:call_113_after"),
    "ask_shelter": ("Ánh Dương", "Ánh Dương", "n:services_peace_house"),
    "suicidal_distress": ("Cảm ơn bạn đã nói ra", "Thank you for telling me", "a:handoff:distress"),
}


def test_expectations_cover_the_taxonomy() -> None:
    assert set(EXPECTED) | {"change_language"} == set(TAXONOMY_INTENTS)


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("intent", sorted(EXPECTED))
def test_each_intent_reaches_its_flow(runner: Runner, intent: str, language: str) -> None:
    vi, en, payload = EXPECTED[intent]
    chat = Chat(runner, language)
    result = chat.say("...", intent)
    assert (vi if language == "vi" else en) in texts(result)
    assert payload in payloads(result)
    assert result.language == language
    json.dumps(result.state)  # the engine stores it as JSON


@pytest.mark.parametrize("language", LANGS)
def test_change_language_intent_switches(runner: Runner, language: str) -> None:
    other = "en" if language == "vi" else "vi"
    chat = Chat(runner, language)
    result = chat.say("doi ngon ngu", "change_language")
    assert result.language == other
    assert [(a.action, a.args) for a in result.actions] == [("set_language", {"language": other})]
    assert texts(result) == runner.render("language_changed", other)[0].text


# --------------------------------------------------------------------------- emergency
def _assert_emergency_first(result: TurnResult, language: str = "vi") -> None:
    first_line = result.messages[0].text.splitlines()[0]
    assert "113" in first_line
    assert result.messages[0].protect
    assert "115" in texts(result) and "111" in texts(result)
    assert "n:handoff_consent" in payloads(result)
    assert ("not your fault" if language == "en" else "không phải lỗi") in texts(result)


@pytest.mark.parametrize("language", LANGS)
def test_emergency_from_the_middle_of_the_rights_flow(runner: Runner, language: str) -> None:
    chat = Chat(runner, language)
    chat.say("quyen cua toi", "ask_rights")
    chat.press("n:rights_no_contact")
    _assert_emergency_first(chat.say("no dang danh toi", "emergency"), language)


def test_emergency_while_the_area_is_being_asked(chat: Chat) -> None:
    chat.say("toi muon noi chuyen voi nguoi", "request_human")
    chat.press("a:consent")
    chat.press("a:discreet:on")
    assert chat.state["node"] == "handoff_area"
    result = chat.say("cuu toi, anh ay cam dao", "emergency")
    _assert_emergency_first(result)
    assert "start_handoff" not in action_names(result)
    assert chat.state["slots"] == {}, "the danger text is not taken as her area"


def test_emergency_during_a_handoff_with_low_confidence(runner: Runner) -> None:
    chat = Chat(runner, in_handoff=True)
    result = chat.turn(text="giup voi", intent="emergency", confidence=0.3)
    _assert_emergency_first(result)


def test_emergency_wins_over_an_attachment_and_a_stale_state(runner: Runner) -> None:
    chat = Chat(runner, "en")
    chat.state = {"node": "no_longer_exists", "slots": "garbage"}
    result = chat.turn(text="help", intent="emergency", attachment="photo")
    _assert_emergency_first(result, "en")
    assert result.language == "en"


# --------------------------------------------------------------------------- handoff
def test_handoff_consent_area_topic_starts_the_handoff(chat: Chat, runner: Runner) -> None:
    consent = chat.say("cho toi gap nguoi that", "request_human")
    assert payloads(consent) == ["a:consent", "n:consent_full", "n:menu"]
    assert "/stop" in texts(consent) and "113" in texts(consent)

    agreed = chat.press("a:consent")
    consent_text = texts(consent)
    version = hashlib.sha256(consent_text.encode()).hexdigest()[:12]
    assert [(a.action, a.args) for a in agreed.actions] == [
        ("consent", {"node": "handoff_consent", "version": version, "language": "vi"})
    ]
    assert payloads(agreed) == ["a:discreet:on", "a:discreet:off"]

    area = chat.press("a:discreet:on")
    assert [(a.action, a.args) for a in area.actions] == [("set_discreet", {"on": True})]
    assert "xã/phường" in texts(area)

    confirm = chat.say("Phường   Ba Đình, Hà Nội", None)
    assert "Mình hiểu là: Phường Ba Đình, Thành phố Hà Nội" in texts(confirm)
    assert payloads(confirm) == ["n:handoff_topic", "n:handoff_area"]  # Yes / Change
    assert chat.state["slots"] == {"area": "ward:00004"}, "only the unit's code is kept"
    topic = chat.press("n:handoff_topic")
    assert "a:topic:safety" in payloads(topic)
    assert not topic.actions

    started = chat.press("a:topic:safety")
    assert [(a.action, a.args) for a in started.actions] == [
        ("start_handoff", {"area": "ward:00004", "topic": "safety"})
    ]
    assert started.messages == []  # the handoff module answers (handoff_queued...)

    # A second request: consent again, but the discreet question is not asked twice.
    chat.say("noi chuyen voi nguoi", "request_human")
    assert "a:discreet:on" not in payloads(chat.press("a:consent"))
    assert chat.state["node"] == "handoff_area"


def test_area_keeps_the_unit_code_and_skip_gives_no_area(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.say("gap nguoi", "request_human")
    chat.press("a:consent")
    chat.turn(
        text="toi o phuong hoan kiem",
        intent="disclose_abuse",
        confidence=0.7,
        entities=[{"entity": "area", "value": "Hoàn Kiếm"}],
    )
    chat.press("n:handoff_topic")  # "Yes" to "Phường Hoàn Kiếm, Thành phố Hà Nội"
    result = chat.press("a:topic:violence_home")
    assert result.actions[0].args == {"area": "ward:00070", "topic": "violence_home"}

    chat.say("gap nguoi", "request_human")
    chat.press("a:consent")
    chat.press("n:handoff_topic")  # Skip
    result = chat.press("a:topic:other")
    assert result.actions[0].args == {"area": None, "topic": "other"}


def test_concern_goes_to_consent_then_starts_with_topic_concern(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.say("hang xom bi chong danh", "report_concern")
    consent = chat.press("a:handoff:concern")
    assert payloads(consent)[0] == "a:consent"
    chat.press("a:consent")
    confirm = chat.say("Xã Tân Lập, Phú Thọ", None)  # no Tân Lập in Phú Thọ since 2025
    assert "Tỉnh Phú Thọ" in texts(confirm) and not confirm.actions
    code = chat.state["slots"]["area"]
    assert code.startswith("ward:")
    result = chat.press("n:handoff_topic")
    assert [(a.action, a.args) for a in result.actions] == [
        # She read the "worried about someone" page: offered to her as a summary.
        ("start_handoff", {"area": code, "topic": "concern", "seen": ["concern"]})
    ]


def test_no_handoff_without_an_explicit_press(chat: Chat) -> None:
    chat.say("gap nguoi", "request_human")
    result = chat.say("vang", "affirm")
    assert "consent" not in action_names(result)
    result = chat.press("a:topic:safety")  # an old topic button, never agreed
    assert "start_handoff" not in action_names(result)
    assert "a:consent" in payloads(result)


def test_leaving_the_setup_forgets_consent(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.say("gap nguoi", "request_human")
    chat.press("a:consent")
    chat.press("n:menu")  # "Cancel" on the area question
    assert "start_handoff" not in action_names(chat.press("a:topic:rights"))


# --------------------------------------------------------------------------- erase
@pytest.mark.parametrize("how", ["intent", "command"])
def test_erase_only_after_the_confirm_press(chat: Chat, how: str) -> None:
    asked = chat.say("xoa het", "delete_data") if how == "intent" else chat.press("cmd:erase")
    assert not asked.actions
    assert payloads(asked) == ["a:erase", "n:menu"]
    done = chat.press("a:erase")
    assert action_names(done) == ["erase"]
    assert done.messages == [] and done.state == {}


def test_erase_cancel_and_old_confirm_buttons_do_not_erase(chat: Chat) -> None:
    chat.press("cmd:erase")
    assert "n:rights_menu" in payloads(chat.press("n:menu"))
    again = chat.press("a:erase")  # the confirm button of an older message
    assert not again.actions
    assert "a:erase" in payloads(again)


def test_erase_from_the_middle_of_a_flow(chat: Chat) -> None:
    chat.say("gap nguoi", "request_human")
    chat.press("a:consent")
    chat.press("a:discreet:off")
    result = chat.say("xoa du lieu", "delete_data")
    assert "a:erase" in payloads(result) and chat.state["node"] == "erase_confirm"


# --------------------------------------------------------------------------- global
def test_stop_ends_and_offers_the_menu(runner: Runner) -> None:
    chat = Chat(runner, in_handoff=True)
    for result in (chat.say("dung lai", "stop"), chat.press("cmd:stop")):
        assert action_names(result) == ["end"]
        assert payloads(result) == ["n:menu"]


def test_global_intents_win_while_collecting_the_area(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.say("gap nguoi", "request_human")
    chat.press("a:consent")
    result = chat.say("menu", "help")
    assert "n:rights_menu" in payloads(result)
    assert chat.state["slots"] == {}


@pytest.mark.parametrize(
    ("payload", "node"),
    [
        ("cmd:start", "welcome"),
        ("cmd:menu", "menu"),
        ("cmd:help", "menu"),
        ("cmd:privacy", "privacy"),
        ("cmd:erase", "erase_confirm"),
        ("cmd:stop", "stop"),
    ],
)
def test_commands(runner: Runner, payload: str, node: str) -> None:
    chat = Chat(runner, "en")
    result = chat.press(payload)
    assert texts(result) == "\n".join(m.text for m in runner.render(node, "en"))


@pytest.mark.parametrize(
    "payload",
    [
        "n:nope",
        "a:nope",
        "a:topic:unknown",
        "a:lang:fr",
        "a:discreet:maybe",
        "zzz",
        "a:consent:x",
        "n:",
    ],
)
def test_stale_or_unknown_payload_says_expired_with_menu(chat: Chat, payload: str) -> None:
    result = chat.press(payload)
    assert "hết hạn" in texts(result)
    assert "n:rights_menu" in payloads(result)
    assert not result.actions


def test_attachment_gets_text_only_and_keeps_the_area_question(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.say("gap nguoi", "request_human")
    chat.press("a:consent")
    result = chat.turn(attachment="sticker")
    assert "chỉ đọc được tin nhắn chữ" in texts(result)
    assert "n:services" in payloads(result)
    chat.say("Huyện Mê Linh", None)
    chat.press("n:handoff_topic")
    assert chat.press("a:topic:rights").actions[0].args["area"] == "ward:09022"  # Xã Mê Linh


def test_not_understood_gets_rephrase_and_menu(chat: Chat) -> None:
    for intent in (None, "some_new_intent"):
        result = chat.say("asdf", intent)
        assert "nói cách khác" in texts(result)
        assert "n:handoff_consent" in payloads(result)


def test_yes_after_a_question_follows_it_and_otherwise_opens_the_menu(chat: Chat) -> None:
    chat.say("chong toi danh toi", "disclose_abuse")
    assert "13/2022/QH15" in texts(chat.say("co", "affirm"))
    assert "Bạn muốn xem mục nào" in texts(chat.say("co", "affirm"))
    chat.say("chong toi danh toi", "disclose_abuse")
    assert "Không sao" in texts(chat.say("khong", "deny"))


# --------------------------------------------------------------------------- language
def test_lang_command_toggles_both_ways(chat: Chat) -> None:
    result = chat.press("cmd:lang")
    assert result.language == "en" and "English" in texts(result)
    assert [(a.action, a.args) for a in result.actions] == [("set_language", {"language": "en"})]
    result = chat.press("cmd:lang")
    assert result.language == "vi" and "tiếng Việt" in texts(result)


@pytest.mark.parametrize(
    ("start", "text", "target"),
    [
        ("vi", "cho tôi tiếng Anh", "en"),
        ("vi", "English please", "en"),
        ("en", "Tieng Viet di", "vi"),
        ("en", "switch to English", "en"),
        ("vi", "đổi ngôn ngữ", "en"),
    ],
)
def test_change_language_names_the_language(
    runner: Runner, start: str, text: str, target: str
) -> None:
    chat = Chat(runner, start)
    assert chat.say(text, "change_language").language == target


def test_language_buttons(chat: Chat) -> None:
    result = chat.press("a:lang:en")
    assert result.language == "en" and texts(result) == "I'll reply in English."
    assert not chat.press("a:lang:en").actions  # already English: nothing to change


def test_clear_english_message_switches_a_vietnamese_user(chat: Chat) -> None:
    result = chat.say("what are my rights?", "ask_rights", confidence=0.92, detected_language="en")
    assert result.language == "en"
    assert ("set_language", {"language": "en"}) in [(a.action, a.args) for a in result.actions]
    assert "What would you like to know?" in texts(result)
    back = chat.say("quyền của tôi là gì", "ask_rights", confidence=0.9, detected_language="vi")
    assert back.language == "vi"


def test_unclear_messages_do_not_switch_language(chat: Chat) -> None:
    assert chat.say("ok", "affirm", detected_language="en").language == "vi"
    assert chat.say("rights", "ask_rights", confidence=0.4, detected_language="en").language == "vi"
    assert chat.say("hmm what", None, detected_language="en").language == "vi"


def test_an_explicit_choice_survives_one_stray_message(chat: Chat) -> None:
    chat.press("a:lang:en")
    one = chat.say("cảm ơn", "thanks", confidence=0.9, detected_language="vi")
    assert one.language == "en"
    two = chat.say("quyền của tôi", "ask_rights", confidence=0.9, detected_language="vi")
    assert two.language == "vi"


def test_render_unknown_node_and_unknown_language(runner: Runner) -> None:
    with pytest.raises(KeyError):
        runner.render("nope", "vi")
    assert runner.render("menu", "fr")[0].text == runner.render("menu", "vi")[0].text


def test_a_new_user_with_empty_state_and_no_intent(runner: Runner) -> None:
    result = runner.step(TurnContext(language="vi", state={}))
    assert result.language == "vi" and result.messages and result.messages[-1].buttons


def test_runner_is_the_engines_flow_runner(runner: Runner) -> None:
    from bot.interfaces import FlowRunner

    flow: FlowRunner = runner  # mypy checks the protocol; the call checks it works
    assert flow.render("handoff_queued", "en", {"team_hours": "9–17"})[0].text.startswith(
        "Received."
    )


def test_change_and_unknown_places_keep_nothing_she_typed(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.say("gap nguoi", "request_human")
    chat.press("a:consent")
    unknown = chat.say("Nguyen Thi Lan 0912345678", None)
    assert "chưa nhận ra" in texts(unknown)
    assert chat.state["node"] == "handoff_area" and chat.state["slots"] == {}
    assert "n:handoff_topic" in payloads(unknown)  # Skip → the fallback team
    confirm = chat.say("Nguyen Thi Lan 0912345678 phuong An Cuu", None)
    assert "Phường An Cựu, Thành phố Huế" in texts(confirm)
    assert "Lan" not in repr(chat.state) and "0912" not in repr(chat.state)
    again = chat.press("n:handoff_area")  # Change
    assert chat.state["slots"] == {} and "xã/phường" in texts(again)
    chat.say("Phường Phúc Xá, quận Ba Đình, Hà Nội", None)
    assert chat.state["node"] == "handoff_area_confirm"
    assert chat.state["slots"] == {"area": "ward:00097"}  # Phường Hồng Hà since 2025
    chat.say("đúng", "affirm")
    assert chat.state["node"] == "handoff_topic"


def test_a_free_text_area_left_in_an_old_state_never_reaches_the_handoff(chat: Chat) -> None:
    # A state written before areas were kept as codes.
    chat.state = {"node": "handoff_topic", "consent": True, "slots": {"area": "Nguyen Thi Lan"}}
    result = chat.press("a:topic:other")
    assert result.actions[0].args == {"area": None, "topic": "other"}

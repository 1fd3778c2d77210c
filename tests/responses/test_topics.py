"""The second edition's topics, walked as a person would: from the menu and by
intent, in Vietnamese and English; the informed consent; the discreet question
only where it means something; suicidal distress from any state."""

from __future__ import annotations

import hashlib

import pytest

from responses import Runner
from responses.validate import SCREEN_CHARS, SCREEN_LINES
from tests.responses.flowchat import LANGS, Chat, action_names, payloads, texts

#: topic → (menu path of button payloads, intent, what she writes, a phrase per language)
TOPICS = {
    "evidence": (
        ["cmd:menu", "n:menu_more", "n:evidence"],
        "ask_evidence",
        "can giu bang chung gi",
        {"vi": "giấy chứng thương", "en": "injury certificate"},
    ),
    "evidence_assessment": (
        ["cmd:menu", "n:menu_more", "n:evidence", "n:evidence_assessment"],
        "ask_evidence",
        "giam dinh thuong tich la gi",
        {"vi": "11%", "en": "11 %"},
    ),
    "call_113": (
        ["cmd:menu", "n:menu_more", "n:call_113"],
        "ask_call_113",
        "goi 113 thi noi gi",
        {"vi": "miễn phí", "en": "free"},
    ),
    "call_113_after": (
        ["cmd:menu", "n:menu_more", "n:call_113", "n:call_113_after"],
        None,
        "",
        {"vi": "Điều 20", "en": "Art. 20"},
    ),
    "rights_no_contact_how": (
        ["cmd:menu", "n:rights_menu", "n:rights_no_contact", "n:rights_no_contact_how"],
        None,
        "",
        {"vi": "1800 1233", "en": "1800 1233"},
    ),
    "rights_no_contact": (
        ["cmd:menu", "n:rights_menu", "n:rights_no_contact"],
        "ask_rights",
        "xin quyet dinh cam tiep xuc o dau",
        {"vi": "12 giờ", "en": "12 hours"},
    ),
    "services_shelter": (
        ["cmd:menu", "n:services", "n:services_shelter"],
        "ask_shelter",
        "co nha tam lanh nao ko",
        {"vi": "1800 1769", "en": "1800 1769"},
    ),
    "rights_divorce": (
        ["cmd:menu", "n:rights_menu", "n:rights_more", "n:rights_divorce"],
        "ask_rights",
        "thu tuc ly hon the nao",
        {"vi": "Tòa án nhân dân khu vực", "en": "regional people's court"},
    ),
    "rights_divorce_papers": (
        [
            "cmd:menu",
            "n:rights_menu",
            "n:rights_more",
            "n:rights_divorce",
            "n:rights_divorce_papers",
        ],
        "ask_rights",
        "ly hon chia tai san the nao",
        {"vi": "Cấp dưỡng", "en": "Child support"},
    ),
    "rights_custody": (
        ["cmd:menu", "n:rights_menu", "n:rights_more", "n:rights_divorce", "n:rights_custody"],
        "ask_rights",
        "ly hon thi ai nuoi con",
        {"vi": "mẹ trực tiếp nuôi", "en": "given to the mother to raise"},
    ),
    "rights_mediation": (
        ["cmd:menu", "n:rights_menu", "n:rights_more", "n:rights_mediation"],
        "ask_rights",
        "co bat buoc hoa giai khong",
        {"vi": "tự nguyện", "en": "voluntary"},
    ),
    "rights_withdraw": (
        [
            "cmd:menu",
            "n:rights_menu",
            "n:rights_more",
            "n:rights_penalties",
            "n:rights_criminal",
            "n:rights_withdraw",
        ],
        "ask_rights",
        "nha chong ep em rut don",
        {"vi": "Điều 155", "en": "Art. 155"},
    ),
    "safety_leaving": (
        ["cmd:menu", "n:safety_menu", "n:safety_leaving"],
        "ask_safety",
        "em muon bo di nhung so",
        {"vi": "Đừng báo trước", "en": "Don't announce"},
    ),
    "safety_danger_signs": (
        ["cmd:menu", "n:safety_menu", "n:safety_leaving", "n:safety_danger_signs"],
        "ask_safety",
        "bi bop co co phai dau hieu nguy hiem",
        {"vi": "bóp cổ", "en": "strangled"},
    ),
    "safety_devices": (
        ["cmd:menu", "n:safety_menu", "n:safety_tech", "n:safety_devices"],
        None,
        "",
        {"vi": "Zalo PC", "en": "Zalo PC"},
    ),
    "safety_phone_taken": (
        ["cmd:menu", "n:safety_menu", "n:safety_tech", "n:safety_phone_taken"],
        "ask_safety",
        "anh ay lay dien thoai cua em",
        {"vi": "máy của hàng xóm", "en": "neighbour's"},
    ),
    "concern_ask_first": (
        ["cmd:menu", "n:menu_more", "n:concern", "n:concern_ask_first"],
        None,
        "",
        {"vi": "công an", "en": "police"},
    ),
    "distress": (
        ["cmd:menu", "n:menu_more", "n:menu_other", "n:distress"],
        "suicidal_distress",
        "khong muon song nua",
        {"vi": "không phải đường dây hỗ trợ khủng hoảng", "en": "not a crisis line"},
    ),
}


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("node_id", sorted(TOPICS))
def test_each_topic_is_reachable_from_the_menu(runner: Runner, node_id: str, language: str) -> None:
    path, _intent, _text, phrase = TOPICS[node_id]
    chat = Chat(runner, language)
    for payload in path[:-1]:
        assert path[path.index(payload) + 1] in payloads(chat.press(payload)), payload
    result = chat.press(path[-1])
    assert chat.state["node"] == node_id
    assert phrase[language] in texts(result)
    assert result.messages[-1].buttons


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("node_id", sorted(n for n, t in TOPICS.items() if t[1]))
def test_each_topic_is_reachable_by_what_she_writes(
    runner: Runner, node_id: str, language: str
) -> None:
    _path, intent, text, phrase = TOPICS[node_id]
    chat = Chat(runner, language)
    chat.say("xin chao", "greet")
    result = chat.say(text, intent)
    assert chat.state["node"] == node_id, (text, intent)
    assert phrase[language] in texts(result)


def test_an_intent_without_topic_words_still_opens_its_menu(chat: Chat) -> None:
    chat.say("luat noi gi", "ask_rights")
    assert chat.state["node"] == "rights_menu"
    chat.say("ke hoach an toan", "ask_safety")
    assert chat.state["node"] == "safety_menu"


# ----------------------------------------------------------------- corrections
def test_a_child_in_danger_is_113_first_then_111(runner: Runner) -> None:
    vi = texts(Chat(runner, "vi").say("cuu", "emergency"))
    en = texts(Chat(runner, "en").say("help", "emergency"))
    assert "trẻ em đang gặp nguy hiểm: gọi 113 trước" in vi
    assert "call 113 first" in en
    assert vi.index("113 trước") < vi.index("111")


def test_corrected_facts(runner: Runner) -> None:
    every = "\n".join(
        m.text for n in runner.nodes for lang in LANGS for m in runner.render(n, lang)
    )
    assert "giao cho mẹ nuôi" not in every and "giao cho mẹ trực tiếp nuôi" in every
    assert "Anh Dương" not in every and "Ánh Dương" in every
    assert "đến 15 năm" not in every and "up to 15 years" not in every
    assert "Lệnh cấm" not in every and "lệnh cấm" not in every
    assert "Nói chuyện với" not in every and "nhóm hỗ trợ" not in every
    assert "xoá" not in every.lower() and "Xóa" in every
    assert "CSAGA, 24" not in every
    assert "cận nghèo" in every and "nghỉ ngày lễ" in every
    assert "Đồng bằng sông Cửu Long" not in every and "Cần Thơ" in every


# --------------------------------------------------------------------- consent
@pytest.mark.parametrize("language", LANGS)
def test_consent_fits_one_screen_and_says_what_the_team_may_do(
    runner: Runner, language: str
) -> None:
    (message,) = runner.render("handoff_consent", language)
    assert len(message.text) <= SCREEN_CHARS
    assert len(message.text.splitlines()) <= SCREEN_LINES
    words = {
        "vi": [
            "công an",
            "trẻ em",
            "không cần cho biết tên",
            "điện thoại của họ",
            "1 giờ",
            "48 giờ",
            "/xoa",
            "/stop",
        ],
        "en": [
            "police",
            "a child",
            "don't need to give your name",
            "their phones",
            "1 hour",
            "48 hours",
            "/xoa",
            "/stop",
        ],
    }[language]
    for word in words:
        assert word in message.text, word
    assert [b.payload for b in message.buttons] == ["a:consent", "n:consent_full", "n:menu"]


def test_the_full_consent_is_one_tap_away_and_agreeing_there_records_it(chat: Chat) -> None:
    chat.say("gap nguoi", "request_human")
    full = chat.press("n:consent_full")
    assert "Người ở cùng xã có thể nhận ra bạn" in texts(full)
    assert "30 ngày" in texts(full)
    shown = "\n\n".join(m.text for m in full.messages)
    version = hashlib.sha256(shown.encode()).hexdigest()[:12]
    agreed = chat.press("a:consent")
    assert [(a.action, a.args) for a in agreed.actions] == [
        ("consent", {"node": "consent_full", "version": version, "language": "vi"})
    ]


def test_a_chosen_topic_survives_reading_the_full_consent(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.press("a:handoff:concern")
    chat.press("n:consent_full")
    chat.press("a:consent")
    confirm = chat.say("phuong Ba Dinh", None)
    assert not confirm.actions  # she first sees which ward was understood
    result = chat.press("n:handoff_topic")
    assert [(a.action, a.args["topic"]) for a in result.actions] == [("start_handoff", "concern")]


# -------------------------------------------------------- discreet by channel
@pytest.mark.parametrize("channel", ["web", "terminal"])
def test_no_discreet_question_where_nothing_pops_up(runner: Runner, channel: str) -> None:
    chat = Chat(runner)
    chat.turn(text="gap nguoi", intent="request_human", channel=channel)
    result = chat.turn(payload="a:consent", channel=channel)
    assert chat.state["node"] == "handoff_area"
    assert "a:discreet:on" not in payloads(result)
    privacy = chat.turn(payload="cmd:privacy", channel=channel)
    assert "n:discreet" not in payloads(privacy)


@pytest.mark.parametrize("channel", ["telegram", "zalo_oa", "zalo_bot"])
def test_discreet_question_where_notifications_show(runner: Runner, channel: str) -> None:
    chat = Chat(runner)
    chat.turn(text="gap nguoi", intent="request_human", channel=channel)
    result = chat.turn(payload="a:consent", channel=channel)
    assert chat.state["node"] == "discreet"
    assert "a:discreet:on" in payloads(result)
    assert "n:discreet" in payloads(chat.turn(payload="cmd:privacy", channel=channel))


# ------------------------------------------------------------ suicidal distress
@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize(
    "state",
    [
        {},
        {"node": "handoff_area", "slots": {}, "consent": True},
        {"node": "rights_divorce", "slots": {}},
        {"node": "erase_confirm", "slots": {}},
    ],
    ids=["new", "area-prompt", "mid-flow", "erase-confirm"],
)
def test_distress_is_answered_from_any_state(
    runner: Runner, language: str, state: dict[str, object]
) -> None:
    chat = Chat(runner, language)
    chat.state = dict(state)
    result = chat.say("khong muon song nua", "suicidal_distress")
    assert chat.state["node"] == "distress"
    text = texts(result)
    assert "115" in text and "1900 969 680" in text
    assert "a:handoff:distress" in payloads(result)
    assert "slots" in chat.state and not chat.state["slots"].get("area")
    assert not result.actions


@pytest.mark.parametrize("language", LANGS)
@pytest.mark.parametrize("said", ["toi muon chet", "I want to kill myself", "em muốn tự tử"])
def test_self_harm_caught_as_an_emergency_gets_113_then_careful_words(
    runner: Runner, language: str, said: str
) -> None:
    chat = Chat(runner, language)
    chat.state = {"node": "handoff_area", "slots": {}, "consent": True}
    result = chat.say(said, "emergency")
    assert chat.state["node"] == "distress_urgent"
    first_line = result.messages[0].text.splitlines()[0]
    assert "113" in first_line and "115" in first_line
    assert "1900 969 680" in texts(result)


def test_other_emergencies_keep_the_plain_113_answer(chat: Chat) -> None:
    chat.say("no dang danh toi", "emergency")
    assert chat.state["node"] == "emergency"


def test_distress_can_reach_the_team_with_its_own_topic(chat: Chat) -> None:
    chat.state = {"discreet_asked": True}
    chat.say("toi muon chet", "suicidal_distress")
    consent = chat.press("a:handoff:distress")
    assert "a:consent" in payloads(consent)
    chat.press("a:consent")
    started = chat.press("n:handoff_topic")
    assert action_names(started) == ["start_handoff"]
    assert started.actions[0].args["topic"] == "distress"

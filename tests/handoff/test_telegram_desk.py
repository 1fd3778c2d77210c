"""The desk through the real python-telegram-bot application and the Bot API
stand-in: she answers the questions before connecting (summary, safe to
talk), the card and the member's connected notice show her answers, the
member inserts a vetted text with /tip, transfers the chat with /transfer,
goes off duty with /off; she asks how long the wait is."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from tests.handoff.conftest import GROUP, HER, HOA_ID, LAN_ID, TEAMS, Tg

MAI_ID = 6001


@pytest.fixture
def teams_file(tmp_path: Path) -> Path:
    """The shared teams with the questions before connecting switched on."""
    data = copy.deepcopy(TEAMS)
    data["ask_before_connecting"] = True
    path = tmp_path / "teams.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def ask_for_a_person(tg: Tg, chat: int, *, read: str | None = None) -> None:
    api = tg.api
    await tg.say(chat, "/menu")
    if read is not None:
        last = api.sent_to(chat)[-1]
        await tg.push(api.press(chat, last.message_id, f"n:{read}"))
    await tg.say(chat, "tôi muốn nói chuyện với người thật")
    await tg.tap(chat, "Đồng ý")
    if any("kín đáo" in label for m in api.sent_to(chat)[-1:] for label, _ in m.buttons):
        await tg.tap(chat, "bình thường")
    await tg.say(chat, "phu hung")
    await tg.tap(chat, "Đúng")  # "Mình hiểu là: Phú Hưng — đúng không?"


async def test_summary_safe_to_talk_tip_and_transfer_on_telegram(tg: Tg) -> None:
    api = tg.api
    await ask_for_a_person(tg, HER, read="rights_no_contact")
    asked = await tg.tap(HER, "Bạo lực")
    shown = "\n".join(m.text or "" for m in asked)
    # She sees exactly the lines the team would see, before agreeing.
    assert "cấm tiếp xúc / protection orders" in shown and "Đồng ý chia sẻ" in str(
        asked[-1].buttons
    )
    await tg.drain()
    assert not [m for m in api.sent_to(GROUP) if m.buttons], "no card before she answered"
    await tg.tap(HER, "Đồng ý chia sẻ")
    queued = await tg.tap(HER, "Chỉ tin ngắn")
    assert any("113" in (m.text or "") for m in queued)
    await tg.drain()
    [card] = [m for m in api.sent_to(GROUP) if m.buttons]
    assert "protection orders" in (card.text or "") and "short, neutral" in (card.text or "")
    assert str(HER) not in (card.text or "")

    await tg.push(api.press(GROUP, card.message_id, card.payloads[0], user_id=HOA_ID))
    await tg.drain()
    connected = next(t for t in tg.texts(HOA_ID) if "Connected" in t)
    assert "Keep messages short and neutral" in connected and "protection orders" in connected

    menu = await tg.say(HOA_ID, "/tip")
    assert "1. " in (menu[-1].text or "") and "Hotlines" in (menu[-1].text or "")
    await tg.say(HOA_ID, "/tip 2")
    await tg.drain()
    assert tg.texts(HER)[-1].startswith("Tổ hỗ trợ:") and "113" in tg.texts(HER)[-1]

    await tg.say(HER, "anh ấy về rồi")
    moved = await tg.say(HOA_ID, "/transfer Lan")
    assert "Transferred to Lan" in (moved[-1].text or "")
    await tg.drain()
    to_lan = "\n".join(tg.texts(LAN_ID))
    assert "transferred this chat to you" in to_lan and "anh ấy về rồi" in to_lan
    await tg.say(LAN_ID, "Chị nhắn khi tiện nhé")
    await tg.drain()
    assert tg.texts(HER)[-1] == "Tổ hỗ trợ: Chị nhắn khi tiện nhé"
    leaked = [t for t in tg.texts(HER) if re.search(r"\b(Hoa|Lan)\b", t)]
    assert not leaked, leaked


async def test_duty_and_honest_waiting_on_telegram(tg: Tg) -> None:
    api = tg.api
    for member in (HOA_ID, LAN_ID, MAI_ID):
        answer = await tg.say(member, "/off")
        assert "off duty" in (answer[-1].text or "")
    await ask_for_a_person(tg, HER)
    told = await tg.tap(HER, "Bạo lực")
    text = "\n".join(m.text or "" for m in told)
    assert "không có ai của nhóm đang trực" in text and "1900 969 680" in text
    await tg.tap(HER, "Không chia sẻ")
    await tg.tap(HER, "An toàn")
    waiting = await tg.tap(HER, "Còn bao lâu")
    answer = "\n".join(m.text or "" for m in waiting)
    assert "vị trí số 1" in answer and "không có ai" in answer.lower()
    assert "chưa có đủ số liệu" in answer  # no invented minutes
    back = await tg.say(HOA_ID, "/on")
    assert "on duty" in (back[-1].text or "")
    await tg.drain()
    assert [m for m in api.sent_to(GROUP) if m.buttons]

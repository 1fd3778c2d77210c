"""A voice note during a chat with the team, through the real Telegram
application: the member gets its transcript only, she is asked once whether
her voice may go on, and only if she says so does the member get the audio
(passed on by Telegram's file id; the bot never keeps it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.models import OutboxItem
from tests.fakes.asr_api import FakeASR, fixture_audio
from tests.fakes.telegram_api import ChatMessage, FakeTelegramAPI
from tests.handoff.conftest import GROUP, HOA_ID, LAN_ID, Tg, running_telegram

HER = 555000333


@pytest.fixture
async def tg(database_url: str, tmp_path: Path, teams_file: Path) -> AsyncIterator[Tg]:
    async with FakeTelegramAPI() as api, FakeASR() as asr:
        asr.learn_fixtures()
        async with running_telegram(
            api, database_url, tmp_path, teams_file, asr_url=asr.url, asr_model="whisper-large-v3"
        ) as running:
            yield running


async def connected(tg: Tg) -> int:
    """She asks for the team and a member takes her request: the member's id."""
    api = tg.api
    await tg.say(HER, "tôi muốn nói chuyện với người thật")
    await tg.tap(HER, "Đồng ý")
    if any("kín đáo" in label for m in api.sent_to(HER)[-1:] for label, _ in m.buttons):
        await tg.tap(HER, "bình thường")
    await tg.say(HER, "phu hung")
    await tg.tap(HER, "Đúng")  # "Mình hiểu là: Phú Hưng — đúng không?"
    await tg.tap(HER, "Bạo lực")
    await tg.drain()
    [card] = [m for m in api.sent_to(GROUP) if m.buttons]
    await tg.push(api.press(GROUP, card.message_id, card.payloads[0], user_id=HOA_ID))
    await tg.drain()
    assert any("Connected" in t for t in tg.texts(HOA_ID))
    return HOA_ID


async def speak(tg: Tg, fixture: str) -> tuple[list[ChatMessage], dict[str, str]]:
    update = tg.api.voice_message(HER, fixture_audio(fixture))
    file_id = update["message"]["voice"]["file_id"]
    before = len(tg.api.sent_to(HER))
    await tg.push(update)
    return tg.api.sent_to(HER)[before:], {"file_id": file_id}


async def test_voice_reaches_the_member_as_text_until_she_chooses_her_voice(tg: Tg) -> None:
    api = tg.api
    member = await connected(tg)
    seen_by_member = len(api.sent_to(member))

    # Her first voice note: the member gets the words only, marked as a
    # machine's transcript; she sees what was heard and is asked once.
    to_her, first = await speak(tg, "hoi_ly_hon.ogg")
    await tg.drain()
    new = api.sent_to(member)[seen_by_member:]
    assert any("🎤" in (m.text or "") and "thủ tục ly hôn" in (m.text or "") for m in new)
    assert api.calls_to("sendVoice") == []
    said = [m.text or "" for m in to_her]
    assert any("Mình nghe được" in t for t in said)
    asked = [m for m in to_her if m.buttons]
    assert asked and {"a:voice:text", "a:voice:send"} <= set(asked[-1].payloads)

    # A second note before she answers: still text only, and not asked again.
    to_her, _ = await speak(tg, "hoi_ly_hon.ogg")
    assert not any("a:voice:send" in m.payloads for m in to_her)
    await tg.drain()
    assert api.calls_to("sendVoice") == []

    # She chooses to send her voice: the next note reaches the member as audio
    # (by Telegram's file id) with its transcript.
    chosen = await tg.tap(HER, "Gửi cả giọng nói")
    assert any("giọng nói" in (m.text or "") for m in chosen)
    _, third = await speak(tg, "hoi_ly_hon.ogg")
    await tg.drain()
    [sent_voice] = api.calls_to("sendVoice")
    assert int(sent_voice.params["chat_id"]) == member
    assert sent_voice.params["voice"] == third["file_id"] != first["file_id"]
    assert sent_voice.params.get("protect_content") is True  # not forwardable, not savable
    assert str(HER) not in str(sent_voice.params.get("caption"))
    assert not any(int(c.params["chat_id"]) == LAN_ID for c in api.calls_to("sendVoice"))


async def test_spoken_danger_in_a_chat_gets_113_first_and_reaches_the_member(tg: Tg) -> None:
    api = tg.api
    member = await connected(tg)
    seen_by_member = len(api.sent_to(member))
    to_her, _ = await speak(tg, "cuu_toi_voi.ogg")
    assert to_her and "113" in (to_her[0].text or "")
    await tg.drain()
    new = [m.text or "" for m in api.sent_to(member)[seen_by_member:]]
    assert any("113" in t for t in new)  # the member is told she was shown 113
    assert any("Cứu tôi với" in t for t in new)


async def test_she_chooses_text_only(tg: Tg) -> None:
    api = tg.api
    await connected(tg)
    await speak(tg, "hoi_ly_hon.ogg")
    chosen = await tg.tap(HER, "Chỉ gửi chữ")
    assert any("chỉ nhận được chữ" in (m.text or "") for m in chosen)
    await speak(tg, "hoi_ly_hon.ogg")
    await tg.drain()
    assert api.calls_to("sendVoice") == []


async def test_when_the_member_closes_she_is_offered_a_checkin(tg: Tg) -> None:
    member = await connected(tg)
    before = len(tg.api.sent_to(HER))
    await tg.say(member, "/end")
    await tg.drain()
    after = tg.api.sent_to(HER)[before:]
    offered = {p for m in after for p in m.payloads}
    assert {"a:checkin:1", "a:checkin:3", "a:checkin:7"} <= offered
    await tg.tap(HER, "Sau 7 ngày")
    async with tg.rt.db.transaction() as s:
        count = await s.scalar(
            select(func.count()).where(
                OutboxItem.ref == "checkin", OutboxItem.status == "scheduled"
            )
        )
    assert count == 1

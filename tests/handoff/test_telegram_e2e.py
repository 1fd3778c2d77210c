"""The handoff through the real python-telegram-bot application talking HTTP
to the Bot API stand-in: she in her private chat, the team in its group and
the members in their private chats with the bot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import add_configured_channels, build_app
from bot.channels.telegram import TelegramChannel
from bot.outbox import OutboxWorker
from bot.runtime import Runtime, build_runtime
from handoff.service import HandoffService
from tests.conftest import free_port, make_settings
from tests.fakes.telegram_api import ChatMessage, FakeTelegramAPI
from tests.handoff.conftest import GROUP_A, HOA, LAN

HER = 555000111
GROUP, HOA_ID, LAN_ID = int(GROUP_A), int(HOA), int(LAN)


class Tg:
    def __init__(self, api: FakeTelegramAPI, runtime: Runtime, channel: TelegramChannel) -> None:
        self.api = api
        self.rt = runtime
        self.channel = channel
        self.worker = OutboxWorker(
            runtime.db,
            runtime.outbox,
            runtime.senders,
            on_undeliverable=runtime.engine.handoff.on_undeliverable,  # type: ignore[union-attr]
            on_delivered=runtime.engine.handoff.on_delivered,  # type: ignore[union-attr]
        )

    async def push(self, *updates: dict[str, Any]) -> None:
        for update in updates:
            await self.api.push_update(update)
        await self.api.wait_until(lambda: self.api.pending_updates == 0)
        await asyncio.wait_for(self.channel.wait_idle(), timeout=10)

    async def say(self, chat: int, text: str, **content: Any) -> list[ChatMessage]:
        before = len(self.api.sent_to(chat))
        await self.push(self.api.user_message(chat, text, **content))
        return self.api.sent_to(chat)[before:]

    async def tap(self, chat: int, label_part: str) -> list[ChatMessage]:
        shown = next(
            m
            for m in reversed(self.api.sent_to(chat))
            if any(label_part.lower() in b[0].lower() for b in m.buttons)
        )
        payload = next(d for label, d in shown.buttons if label_part.lower() in label.lower())
        before = len(self.api.sent_to(chat))
        await self.push(self.api.press(chat, shown.message_id, payload))
        return self.api.sent_to(chat)[before:]

    async def drain(self) -> None:
        await self.worker.drain()

    def texts(self, chat: int) -> list[str]:
        return [m.text or "" for m in self.api.sent_to(chat)]


@pytest.fixture
async def tg(database_url: str, tmp_path: Path, teams_file: Path) -> AsyncIterator[Tg]:
    async with FakeTelegramAPI() as api:
        port = free_port()
        settings = make_settings(
            database_url,
            tmp_path,
            http_port=port,
            telegram_bot_token=api.token,
            telegram_api_base_url=api.base_url,
            teams_file=teams_file,
        )
        runtime = await build_runtime(settings)
        add_configured_channels(runtime)
        channel = next(c for c in runtime.channels if isinstance(c, TelegramChannel))
        runner = web.AppRunner(build_app(runtime), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await channel.start()
        try:
            yield Tg(api, runtime, channel)
        finally:
            await channel.stop()
            await runner.cleanup()
            await runtime.close()


async def test_handoff_through_the_real_telegram_application(tg: Tg) -> None:
    api = tg.api
    await tg.say(HER, "tôi muốn nói chuyện với người thật")
    await tg.tap(HER, "Đồng ý")
    if any("kín đáo" in label for m in api.sent_to(HER)[-1:] for label, _ in m.buttons):
        await tg.tap(HER, "bình thường")
    await tg.say(HER, "phu hung")
    await tg.tap(HER, "Đúng")  # "Mình hiểu là: Phú Hưng — đúng không?"
    queued = await tg.tap(HER, "Bạo lực")
    assert any("113" in (m.text or "") for m in queued)

    await tg.drain()
    [card] = [m for m in api.sent_to(GROUP) if m.buttons]
    assert "Phú Hưng" in (card.text or "") and str(HER) not in (card.text or "")
    payload = card.payloads[0]

    # Two members press Take at the same moment: one wins, one gets a pop-up.
    await tg.push(
        api.press(GROUP, card.message_id, payload, user_id=HOA_ID),
        api.press(GROUP, card.message_id, payload, user_id=LAN_ID),
    )
    answers = [a.get("text", "") for a in api.callback_answers]
    assert sum("You took it" in a for a in answers) == 1
    assert sum("already took" in a for a in answers) == 1
    await tg.drain()
    assert any("taken by" in str(e.get("text")) for e in api.edits)
    winner = HOA_ID if any("Connected" in t for t in tg.texts(HOA_ID)) else LAN_ID
    loser = LAN_ID if winner == HOA_ID else HOA_ID
    assert not any("Connected" in t for t in tg.texts(loser))

    # Both ways, with no name, username or id of the other side.
    await tg.say(HER, "anh ấy vừa đi ra ngoài")
    await tg.drain()
    relayed = [m for m in api.sent_to(winner) if "vừa đi ra ngoài" in (m.text or "")]
    assert relayed and all(
        f"User{HER}" not in (m.text or "") and str(HER) not in (m.text or "") for m in relayed
    )
    await tg.say(
        winner,
        "Chị khoá cửa lại nhé",
        reply_to_message={
            "message_id": relayed[0].message_id,
            "chat": {"id": winner, "type": "private", "first_name": f"User{winner}"},
            "date": int(time.time()),
            "text": relayed[0].text,
        },
    )
    await tg.drain()
    to_her = tg.texts(HER)
    assert "Tổ hỗ trợ: Chị khoá cửa lại nhé" in to_her
    assert not any(
        f"User{winner}" in t or str(winner) in t or "Hoa" in t or "Lan" in t for t in to_her
    )

    # /end closes: both are told.
    ended = await tg.say(winner, "/end")
    assert any("ended" in (m.text or "") for m in ended)
    await tg.drain()
    assert "Tổ hỗ trợ" not in tg.texts(HER)[-1]


# ---- what stays on the team's phones (issue #14) ------------------------------------

#: Her words and the member's, each with a marker no other text contains.
HER_WORDS = "Anh ấy lại say rồi, mã QX7HER em đang trốn ở nhà bà ngoại"
MEMBER_WORDS = "Chị cứ ở yên đó nhé, mã QX7MEM tổ sẽ gọi lại sau"


async def _connected_and_talking(tg: Tg) -> ChatMessage:
    """She asks for a person, Hoa takes it, one message each way; returns the card."""
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
    await tg.say(HER, HER_WORDS)
    await tg.drain()
    await tg.say(HOA_ID, MEMBER_WORDS)
    await tg.drain()
    assert api.holds(HOA_ID, "QX7HER") and api.holds(HOA_ID, "QX7MEM")
    assert api.holds(HER, "QX7MEM")
    # Her words cannot be forwarded or saved from the member's phone.
    assert all(m.protected for m in api.history(HOA_ID) if "QX7HER" in (m.text or ""))
    return card


def _card_is_neutral(api: FakeTelegramAPI, card: ChatMessage) -> bool:
    shown = api.chats[GROUP][card.message_id]
    return (
        not shown.deleted
        and "closed" in (shown.text or "")
        and "Phú Hưng" not in (shown.text or "")
    )


async def test_erase_empties_the_members_chat_of_her_words(tg: Tg) -> None:
    api = tg.api
    card = await _connected_and_talking(tg)

    await tg.say(HER, "/xoa")
    await tg.tap(HER, "X")  # "Xoá" (or "Xóa"): the only button with an X
    await tg.drain()

    assert not api.holds(HOA_ID, "QX7HER"), "her words are still on the member's phone"
    assert not api.holds(HOA_ID, "QX7MEM"), "the member's reply is still in the member's chat"
    assert not api.holds(HER, "QX7HER") and not api.holds(HER, "QX7MEM")
    assert any("erased" in (m.text or "") for m in api.history(HOA_ID))
    assert any("ended the chat" in (m.text or "") for m in api.history(HOA_ID))
    assert _card_is_neutral(api, card)
    # The console forgets at the same moment: no request, no transcript.
    async with tg.rt.db.transaction() as session:
        from sqlalchemy import func, select

        from handoff.models import HandoffMessage, HandoffRequest

        assert await session.scalar(select(func.count()).select_from(HandoffMessage)) == 0
        assert await session.scalar(select(func.count()).select_from(HandoffRequest)) == 0


async def test_after_the_chat_ends_the_copies_go_once_the_grace_period_is_over(tg: Tg) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from bot.messages import utcnow
    from handoff.models import HandoffMessage

    api = tg.api
    card = await _connected_and_talking(tg)
    handoff = tg.rt.engine.handoff
    assert isinstance(handoff, HandoffService)
    ended = await tg.say(HOA_ID, "/end")
    # The member is told when the copies go.
    assert any("In 1 h the bot deletes" in (m.text or "") for m in ended)
    await tg.drain()

    # Within the grace period nothing is deleted: she may still be helped.
    assert await handoff.copies.tick(utcnow() + timedelta(minutes=30)) == 0
    await tg.drain()
    assert api.holds(HOA_ID, "QX7HER") and api.holds(HOA_ID, "QX7MEM")

    assert await handoff.copies.tick(utcnow() + timedelta(minutes=61)) == 1
    await tg.drain()
    assert not api.holds(HOA_ID, "QX7HER") and not api.holds(HOA_ID, "QX7MEM")
    assert any("erased" in (m.text or "") for m in api.history(HOA_ID))
    assert _card_is_neutral(api, card)
    # Her own chat is hers: the team's answer stays until she erases.
    assert api.holds(HER, "QX7MEM")
    async with tg.rt.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(HandoffMessage)) == 0
    # Once only: a second pass (another process) finds nothing to do.
    assert await handoff.copies.tick(utcnow() + timedelta(hours=2)) == 0


async def test_copies_older_than_48_hours_stay_on_the_members_phone(tg: Tg) -> None:
    """What docs/privacy.md admits: Telegram lets a bot delete only for 48 hours."""
    api = tg.api
    await _connected_and_talking(tg)
    api.advance(hours=49)
    await tg.say(HER, "/xoa")
    await tg.tap(HER, "X")  # "Xoá" (or "Xóa"): the only button with an X
    await tg.drain()
    assert api.holds(HOA_ID, "QX7HER")

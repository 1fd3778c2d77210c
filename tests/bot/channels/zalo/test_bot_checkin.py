"""A check-in on the Zalo Bot Platform end to end: the offer arrives as
numbered options, "2" (in 3 days) schedules it, and when its time comes the
outbox delivers the neutral message through the Bot Platform stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.messages import utcnow
from bot.store.checkins import CHECKIN_REF
from bot.store.models import OutboxItem
from tests.bot.channels.zalo.test_bot_platform import (
    Bot,
    close_bot,
    make_bot,
    until,
    update,
)
from tests.fakes.zalo_api import FakeZalo

CHECKIN_TEXT = "Chào bạn, dạo này bạn thế nào?"


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeZalo() as fake:
        b = await make_bot(fake, sqlite_url, tmp_path)
        try:
            yield b
        finally:
            await close_bot(b)


async def test_checkin_by_number_then_delivered_when_due(bot: Bot) -> None:
    fake = bot.fake
    fake.push_update(update("toi bi ck danh moi khi say ruou"))
    await until(lambda: any("hỏi thăm" in t for t in fake.bot_texts))
    offer = next(t for t in fake.bot_texts if "hỏi thăm" in t)
    assert "2. Sau 3 ngày" in offer
    fake.bot_sent.clear()
    fake.push_update(update("2"))
    await until(lambda: any("sẽ nhắn hỏi thăm" in t for t in fake.bot_texts))
    fake.bot_sent.clear()

    # Three days pass (the row's due time is moved back); the running outbox
    # worker sends it once.
    async with bot.runtime.db.transaction() as s:
        [row] = list(await s.scalars(select(OutboxItem).where(OutboxItem.ref == CHECKIN_REF)))
        assert row.next_attempt_at - utcnow() > timedelta(days=2, hours=23)
        row.next_attempt_at -= timedelta(days=3)
    await until(lambda: any(CHECKIN_TEXT in t for t in fake.bot_texts), seconds=8)
    [checkin] = [t for t in fake.bot_texts if CHECKIN_TEXT in t]
    assert "Dừng hỏi thăm" in checkin  # one answer stops it
    stop_number = next(
        line.split(".")[0] for line in checkin.splitlines() if "Dừng hỏi thăm" in line
    )
    fake.push_update(update(stop_number))
    await until(lambda: any("Đã dừng" in t for t in fake.bot_texts))

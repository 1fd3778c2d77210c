"""Zalo's cap with a priority lane: the real sender and client against the
Bot Platform stand-in, capped at 2 messages a second so ordinary replies
queue; the 113 answer goes out ahead of them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.channels.zalo.bot_api import ZaloBotClient
from bot.channels.zalo.bot_platform import ZaloBotSender
from bot.channels.zalo.options import OptionsStore
from bot.crypto import KeyRing
from bot.messages import Outgoing
from bot.outbox import Outbox
from bot.store.db import Database
from tests.fakes.zalo_api import FakeZalo

CAP = 2.0


@pytest.fixture
async def rig(sqlite_url: str) -> AsyncIterator[tuple[FakeZalo, ZaloBotSender]]:
    keyring = KeyRing("b" * 40)
    db = Database(sqlite_url)
    await db.upgrade()
    async with FakeZalo() as fake:
        client = ZaloBotClient(fake.bot_token, fake.bot_base_url)
        sender = ZaloBotSender(client, db, Outbox(keyring), OptionsStore(db, keyring, "zalo_bot"))
        sender.pace(CAP)
        try:
            yield fake, sender
        finally:
            await client.close()
            await db.dispose()


async def test_the_113_answer_overtakes_ordinary_replies_queued_for_the_cap(
    rig: tuple[FakeZalo, ZaloBotSender],
) -> None:
    fake, sender = rig
    others = [f"other{i:02d}" for i in range(8)]
    queued = [asyncio.create_task(sender.reply(chat, [Outgoing("Chào bạn.")])) for chat in others]
    await asyncio.sleep(0.3)  # the burst of CAP went out; the rest wait for slots
    danger = Outgoing("Nếu bạn đang gặp nguy hiểm, hãy gọi 113 ngay.", urgent=True)
    asked = time.monotonic()
    await sender.reply("her", [danger])
    assert time.monotonic() - asked < 2 / CAP
    await asyncio.wait_for(asyncio.gather(*queued), timeout=10)
    order = [m["chat_id"] for m in fake.bot_sent]
    assert sorted(order) == sorted([*others, "her"]), "every reply still arrives"
    assert order.index("her") <= int(CAP) + 1, "she went ahead of the queue"


async def test_without_a_cap_nothing_waits(rig: tuple[FakeZalo, ZaloBotSender]) -> None:
    fake, sender = rig
    sender.pace(0)
    started = time.monotonic()
    await asyncio.gather(*(sender.reply(f"p{i}", [Outgoing("Chào bạn.")]) for i in range(10)))
    assert time.monotonic() - started < 2
    assert len(fake.bot_sent) == 10

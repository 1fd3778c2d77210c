"""The danger answer's priority lane under Telegram's overall cap: real PTB,
the real runtime and webhook, the Bot API stand-in, and a cap low enough
(2 messages a second) that ordinary replies queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import add_configured_channels, build_app
from bot.channels.pacing import PriorityPacer, urgent_sends
from bot.channels.telegram import TelegramChannel
from bot.runtime import build_runtime
from tests.conftest import free_port, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI

CAP = 2.0
SHE = 777000001
OTHERS = [777100000 + i for i in range(8)]


@pytest.fixture
async def capped(sqlite_url: str, tmp_path: Path) -> AsyncIterator[FakeTelegramAPI]:
    """A webhook bot whose overall cap is CAP messages a second."""
    async with FakeTelegramAPI() as api:
        port = free_port()
        settings = make_settings(
            sqlite_url,
            tmp_path,
            http_port=port,
            telegram_bot_token=api.token,
            telegram_api_base_url=api.base_url,
            telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            telegram_rate_limit=CAP,
        )
        runtime = await build_runtime(settings)
        add_configured_channels(runtime)
        channel = next(c for c in runtime.channels if isinstance(c, TelegramChannel))
        runner = web.AppRunner(build_app(runtime), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await channel.start()
        try:
            yield api
        finally:
            await channel.stop()
            await runner.cleanup()
            await runtime.close()


async def test_the_113_answer_overtakes_ordinary_replies_queued_for_the_cap(
    capped: FakeTelegramAPI,
) -> None:
    api = capped
    await asyncio.sleep(1.5)  # the start-up calls' burst has leaked away
    ordinary = [
        asyncio.create_task(api.deliver_webhook(api.user_message(chat, "xin chào")))
        for chat in OTHERS
    ]
    # Wait until the cap is full and ordinary replies are waiting for it.
    await api.wait_until(lambda: sum(len(api.sent_to(c)) for c in OTHERS) >= 2, timeout=10)
    await asyncio.sleep(0.2)
    asked = time.monotonic()
    status = await api.deliver_webhook(api.user_message(SHE, "cuu toi voi no dang danh toi"))
    answered = time.monotonic() - asked
    assert status == 200
    answer = api.sent_to(SHE)
    assert answer and "113" in (answer[0].text or "")
    # Ordinary replies were still queued when her answer went out, and she
    # waited about one slot per message of her answer, not for the queue.
    assert sum(len(api.sent_to(c)) for c in OTHERS) < len(OTHERS)
    assert answered < (len(answer) + 1) / CAP + 0.5
    statuses = await asyncio.gather(*ordinary)
    assert statuses == [200] * len(OTHERS)
    assert all(api.sent_to(c) for c in OTHERS), "every ordinary reply still arrives"
    send_order = [int(c.params["chat_id"]) for c in api.calls_to("sendMessage")]
    her_first = send_order.index(SHE)
    assert any(chat in OTHERS for chat in send_order[her_first:]), "she went ahead of them"


async def test_pacer_serves_urgent_waiters_first_and_ordinary_ones_in_order() -> None:
    pacer = PriorityPacer(rate=10)  # a slot every 0.1 s after a burst of 10
    for _ in range(10):
        await pacer.acquire()
    order: list[str] = []

    async def send(name: str, urgent: bool) -> None:
        with urgent_sends(urgent):
            await pacer.acquire()
        order.append(name)

    tasks = [asyncio.create_task(send(f"o{i}", False)) for i in range(4)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(send("u", True)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    assert order == ["u", "o0", "o1", "o2", "o3"]


async def test_pacer_keeps_the_cap() -> None:
    pacer = PriorityPacer(rate=20)
    started = time.monotonic()
    for _ in range(30):  # a burst of 20, then 10 more at 20 a second
        await pacer.acquire()
    assert 0.4 <= time.monotonic() - started < 1.5


async def test_a_cancelled_waiter_gives_its_slot_to_the_next() -> None:
    pacer = PriorityPacer(rate=10)
    for _ in range(10):
        await pacer.acquire()
    gone = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    started = time.monotonic()
    await asyncio.wait_for(pacer.acquire(), timeout=2)
    assert time.monotonic() - started < 0.3
    assert pacer.waiting == 0

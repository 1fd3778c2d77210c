"""The database is unreachable for 5 seconds during a load (a TCP proxy between
the bots and PostgreSQL cuts every connection and refuses new ones).

- Webhook: an update that cannot be handled gets a 5xx, never a 200; Telegram
  (here the test) sends it again until it gets a 200.
- Long polling: updates fetched during the outage are kept and retried
  (docs/telegram.md), one chat's updates in order.
- Afterwards every update is answered exactly once, as if nothing happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import PG_HOST, PG_PORT
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scale.cluster import Cluster
from tests.scale.test_three_processes import SCRIPT

pytestmark = pytest.mark.stress

OUTAGE = 5.0
WEBHOOK_PEOPLE = [750_001, 750_002, 750_003, 750_004]
POLLING_PEOPLE = [760_001, 760_002, 760_003]


@pytest.fixture
async def setup(
    postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[TcpProxy, Cluster, Cluster]]:
    async with (
        TcpProxy(PG_HOST, PG_PORT) as proxy,
        FakeTelegramAPI() as hook_api,
        FakeTelegramAPI() as poll_api,
    ):
        url = postgres_url.replace(f"{PG_HOST}:{PG_PORT}", f"{PG_HOST}:{proxy.port}")
        (tmp_path / "hook").mkdir()
        (tmp_path / "poll").mkdir()
        hooks = Cluster(hook_api, url, tmp_path / "hook", n=2)
        polling = Cluster(poll_api, url, tmp_path / "poll", n=1, webhook=False)
        try:
            await hooks.start()
            await polling.start()
            yield proxy, hooks, polling
        finally:
            proxy.restore()
            await asyncio.gather(hooks.stop(), polling.stop())


async def test_a_five_second_database_outage_loses_and_doubles_nothing(
    setup: tuple[TcpProxy, Cluster, Cluster],
) -> None:
    proxy, hooks, polling = setup
    # What the script is answered when all is well.
    reference = 750_000
    for text in SCRIPT:
        await hooks.deliver_ok(hooks.api.user_message(reference, text))
    expected = hooks.texts(reference)
    poll_reference = 760_000
    for text in SCRIPT:
        await polling.api.push_update(polling.api.user_message(poll_reference, text))
    await polling.wait_texts(poll_reference, lambda t: len(t) >= len(expected))
    assert polling.texts(poll_reference) == expected

    async def webhook_person(chat: int) -> None:
        for text in SCRIPT:
            await hooks.deliver_until_ok(hooks.api.user_message(chat, text), timeout=60)
            await asyncio.sleep(0.3)

    async def polling_person(chat: int) -> None:
        for text in SCRIPT:
            await polling.api.push_update(polling.api.user_message(chat, text))
            await asyncio.sleep(0.6)

    load = [asyncio.create_task(webhook_person(c)) for c in WEBHOOK_PEOPLE]
    load += [asyncio.create_task(polling_person(c)) for c in POLLING_PEOPLE]
    await asyncio.sleep(0.8)
    proxy.cut()
    cut_at = time.monotonic()
    await asyncio.sleep(OUTAGE)
    proxy.restore()
    restored_at = time.monotonic()
    await asyncio.gather(*load)

    # Webhook: refused while the database was away, never acknowledged.
    during = [s for at, s in hooks.statuses if cut_at + 0.5 < at < restored_at]
    assert during and all(s >= 500 for s in during), during
    assert not [s for at, s in hooks.statuses if cut_at + 0.5 < at < restored_at and s == 200]
    for chat in WEBHOOK_PEOPLE:
        assert hooks.texts(chat) == expected, f"chat {chat}: answers lost, doubled or out of order"

    # Polling: everything fetched is answered once, in order, after the outage.
    for chat in POLLING_PEOPLE:
        await polling.wait_texts(chat, lambda t: len(t) >= len(expected), timeout=60)
    await asyncio.sleep(1.0)  # a late double would show now
    for chat in POLLING_PEOPLE:
        assert polling.texts(chat) == expected, f"polled chat {chat}: lost, doubled or out of order"
    assert polling.api.pending_updates == 0
    refused = sum(1 for _at, s in hooks.statuses if s >= 500)
    print(
        f"\nDB outage {OUTAGE}s: {refused} webhook deliveries refused (5xx) and redelivered; "
        f"back {time.monotonic() - restored_at:.1f}s after the restore"
    )

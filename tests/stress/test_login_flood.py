"""A console login flood against a real ``helpline run`` while a person in
danger writes to the bot: the danger answer stays fast (docs/design.md, promises: trust
under attack). 300 attempts from 30 addresses, as fast as they are answered;
at most two argon2 checks run at once and the rest are refused with 429.
The danger answer's latency during the flood is printed."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scale.cluster import Cluster
from tests.security.conftest import client_from, console_login

pytestmark = pytest.mark.stress

HER = 880_001
DANGER = "cuu toi voi"


@pytest.fixture
async def cluster(postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with FakeTelegramAPI() as api:
        c = Cluster(api, postgres_url, tmp_path, n=1)
        try:
            await c.start()
            yield c
        finally:
            await c.stop()


async def danger_latency(c: Cluster) -> float:
    """Seconds from her message to the bot's first answer."""
    before = len(c.api.sent_to(HER))
    started = time.monotonic()
    await c.deliver_ok(c.api.user_message(HER, DANGER), to=0)
    while len(c.api.sent_to(HER)) <= before:
        await asyncio.sleep(0.01)
        assert time.monotonic() - started < 30, "no answer to the danger message"
    return time.monotonic() - started


async def test_danger_answer_stays_fast_during_a_login_flood(cluster: Cluster) -> None:
    c = cluster
    base = f"http://127.0.0.1:{c.processes[0].port}"
    quiet = [await danger_latency(c) for _ in range(3)]
    statuses: Counter[int] = Counter()

    async def attacker(n: int) -> None:
        async with client_from(f"127.0.3.{n + 1}") as session:
            for i in range(10):
                statuses[await console_login(session, base, "hoa", f"guess {n}-{i}")] += 1

    flood = asyncio.gather(*(attacker(n) for n in range(30)))
    during: list[float] = []
    while not flood.done():
        during.append(await danger_latency(c))
        await asyncio.sleep(0.2)
    await flood
    print(
        f"\nlogin flood: {sum(statuses.values())} attempts {dict(statuses)}; danger answer "
        f"quiet median {statistics.median(quiet) * 1000:.0f} ms, during the flood median "
        f"{statistics.median(during) * 1000:.0f} ms, max {max(during) * 1000:.0f} ms "
        f"({len(during)} messages)"
    )
    assert sum(statuses.values()) == 300 and statuses[429] > 0, statuses
    assert during, "the flood ended before she could write"
    assert max(during) < 3.0, during

"""A request flood against a real ``helpline run`` while a person in danger
writes to the bot (docs/design.md, promise 12). 120 fake Telegram accounts
(as cheap for a script as web sessions) each ask for the team, and two web
chat sockets send as fast as they are answered, while she writes
``cuu toi voi`` again and again. The danger answer's latency is printed; the
team groups are told of the flood; every request stays in the queue.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scale.cluster import GROUP_A, GROUP_B, Cluster, sql
from tests.security.webchat import Chat

pytestmark = pytest.mark.stress

HER = 880_002
DANGER = "cuu toi voi"
FAKES = 120


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
    before = len(c.api.sent_to(HER))
    started = time.monotonic()
    await c.deliver_ok(c.api.user_message(HER, DANGER), to=0)
    while len(c.api.sent_to(HER)) <= before:
        await asyncio.sleep(0.01)
        assert time.monotonic() - started < 30, "no answer to the danger message"
    assert "113" in (c.api.sent_to(HER)[before].text or "")
    return time.monotonic() - started


async def test_danger_answer_stays_fast_during_a_request_flood(cluster: Cluster) -> None:
    c = cluster
    base = f"http://127.0.0.1:{c.processes[0].port}"
    quiet = [await danger_latency(c) for _ in range(3)]

    async def fake_people(first: int) -> None:
        for chat in range(first, first + FAKES // 10):
            await c.ask_for_team(chat)

    async def spammer(n: int) -> int:
        limited = 0
        async with Chat(base, f"127.0.4.{n + 1}") as spam:
            await spam.open_page()
            await spam.connect()
            for i in range(60):
                got = await spam.say(f"spam {i} " + "z" * 5000)
                limited += got[-1]["type"] == "limited"
        return limited

    flood = asyncio.gather(
        *(fake_people(7_000_000 + k * 1000) for k in range(10)), spammer(0), spammer(1)
    )
    during: list[float] = []
    while not flood.done():
        during.append(await danger_latency(c))
        await asyncio.sleep(0.2)
    results = await flood
    limited = sum(r for r in results if isinstance(r, int))
    queued = (await sql(c.database_url, "SELECT count(*) FROM handoff_requests"))[0][0]

    def notices() -> list[str]:
        return [t for g in (GROUP_A, GROUP_B) for t in c.texts(g) if "past hour" in t]

    await c.api.wait_until(lambda: bool(notices()), 60)
    print(
        f"\nrequest flood: {queued} requests queued, {limited} web messages slowed down; "
        f"danger answer quiet median {statistics.median(quiet) * 1000:.0f} ms, during the "
        f"flood median {statistics.median(during) * 1000:.0f} ms, max "
        f"{max(during) * 1000:.0f} ms ({len(during)} messages); {len(notices())} flood notices"
    )
    assert queued == FAKES, "every request is kept, none dropped"
    assert limited > 0, "the sockets were slowed"
    assert notices(), "the team groups were told of the flood"
    assert during and max(during) < 3.0, during

"""Check-ins across three ``helpline run`` processes on one PostgreSQL
database: each one is sent exactly once, when it is due, whichever processes
are polling the outbox; one that was cancelled is never sent. Time is moved
by backdating the rows' due time in the database, as if the days had passed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scale.cluster import Cluster, sql

DISCLOSURE = "toi bi ck danh moi khi say ruou"
CHECKIN_TEXT = "Chào bạn, dạo này bạn thế nào?"
PEOPLE = [730_001, 730_002, 730_003, 730_004, 730_005]


@pytest.fixture
async def cluster(postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with FakeTelegramAPI() as api:
        c = Cluster(api, postgres_url, tmp_path, n=3)
        try:
            await c.start()
            yield c
        finally:
            await c.stop()


def checkins(c: Cluster, chat: int) -> list[str]:
    return [t for t in c.texts(chat) if CHECKIN_TEXT in t]


async def test_checkins_fire_once_across_three_processes(cluster: Cluster) -> None:
    c = cluster
    asked_at = datetime.now(UTC)
    for i, chat in enumerate(PEOPLE):
        offer = await c.say(chat, DISCLOSURE, to=i % 3)
        assert any("hỏi thăm" in (m.text or "") for m in offer)
        await c.tap(chat, "Sau 3 ngày", to=(i + 1) % 3)
    # The one who changes her mind: one tap, through yet another process.
    cancelled = PEOPLE[-1]
    await c.tap(cancelled, "Dừng hỏi thăm", to=2)

    rows = await sql(
        c.database_url,
        "SELECT status, next_attempt_at FROM outbox WHERE ref = 'checkin' ORDER BY id",
    )
    assert len(rows) == len(PEOPLE) - 1
    for row in rows:
        assert row["status"] == "scheduled"
        assert abs(row["next_attempt_at"] - (asked_at + timedelta(days=3))) < timedelta(minutes=2)

    # Not due: three processes poll every second and send nothing.
    await asyncio.sleep(2.5)
    assert not any(checkins(c, chat) for chat in PEOPLE)

    # Three days pass.
    await sql(
        c.database_url,
        "UPDATE outbox SET next_attempt_at = next_attempt_at - interval '3 days' "
        "WHERE ref = 'checkin'",
    )
    for chat in PEOPLE[:-1]:
        await c.wait_texts(chat, lambda t: any(CHECKIN_TEXT in x for x in t))
    await asyncio.sleep(3)  # every process has had more passes over the outbox
    for chat in PEOPLE[:-1]:
        [message] = [m for m in c.api.sent_to(chat) if CHECKIN_TEXT in (m.text or "")]
        assert message.silent, "a check-in arrives without sound"
        assert "a:checkin:off" in message.payloads
    assert checkins(c, cancelled) == []
    sent = await sql(c.database_url, "SELECT status FROM outbox WHERE ref = 'checkin'")
    assert [r["status"] for r in sent] == ["sent"] * (len(PEOPLE) - 1)

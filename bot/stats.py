"""Counts for the programme, without personal data: (day, metric, label) → n.

Kept in memory and added to the database every few seconds, so the hot path
never fights over one counter row; a crash loses at most those seconds of counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from zoneinfo import ZoneInfo

from bot.messages import utcnow
from bot.store.db import Database
from bot.store.models import DailyCount

log = logging.getLogger(__name__)
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Upper bounds (seconds) of the time-to-claim buckets: counted, never timed per person.
CLAIM_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600)


def today() -> str:
    return utcnow().astimezone(LOCAL_TZ).date().isoformat()


class Stats:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: Counter[tuple[str, str, str]] = Counter()

    def count(self, metric: str, label: str = "", n: int = 1) -> None:
        self._pending[(today(), metric, label[:64])] += n

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, Counter()
        try:
            async with self.db.transaction() as session:
                for (day, metric, label), n in batch.items():
                    stmt = self.db.insert(DailyCount).values(
                        day=day, metric=metric, label=label, count=n
                    )
                    stmt = stmt.on_conflict_do_update(
                        index_elements=["day", "metric", "label"],
                        set_={"count": DailyCount.count + n},
                    )
                    await session.execute(stmt)
        except Exception:
            log.exception("could not write statistics; keeping them for the next flush")
            self._pending.update(batch)

    async def run(self, stopping: asyncio.Event, interval: float = 5.0) -> None:
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), interval)
            except TimeoutError:
                pass
            await self.flush()


def claim_bucket(seconds: float) -> str:
    for bound in CLAIM_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return "more"


def record_claim(stats: Stats, team_id: str, seconds: float) -> None:
    """For whoever performs a claim (Telegram button or console Take)."""
    stats.count("handoff_claimed", team_id)
    stats.count("claim_seconds", f"{team_id}|{claim_bucket(seconds)}")

"""Clocks of the handoff: unclaimed requests escalate, idle chats remind.

Several processes may run these timers against one PostgreSQL database: due
rows are selected with ``FOR UPDATE SKIP LOCKED`` and each is then taken by a
conditional update (``WHERE escalated_at IS NULL``...), so every timer fires
once. Time comes from the service's injectable clock: tests move the clock
and call :meth:`Timers.tick` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from handoff import store, texts
from handoff.models import ACTIVE, QUEUED, HandoffRequest

if TYPE_CHECKING:
    from handoff.service import HandoffService

log = logging.getLogger(__name__)

BATCH = 50


class Timers:
    def __init__(self, service: HandoffService, *, interval: float = 15.0) -> None:
        self.s = service
        self.interval = interval
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        self._stopping.clear()
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("handoff timers failed; will try again")
            self.s.outbox.wake()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def stop(self) -> None:
        """Shutdown: finish the current pass and return (never cancelled mid-transaction)."""
        self._stopping.set()

    async def tick(self, now: datetime | None = None) -> dict[str, int]:
        """One pass of every timer; returns how many fired (for tests and logs)."""
        now = now or self.s.clock()
        fired = {
            "escalated": await self._escalate(now),
            "reminded": await self._remind(now),
        }
        async with self.s.db.transaction() as session:
            fired["card_ids"] = await store.remember_card_ids(session)
        self.s.outbox.wake()
        return fired

    async def _escalate(self, now: datetime) -> int:
        """Unclaimed after ``claim_timeout_minutes``: she hears, honestly, that no
        one has taken it yet (with hotlines), and the fallback team gets the card."""
        minutes = self.s.config.claim_timeout_minutes
        cutoff = now - timedelta(minutes=minutes)
        fired = 0
        async with self.s.db.transaction() as session:
            due = select(HandoffRequest).where(
                HandoffRequest.status == QUEUED,
                HandoffRequest.escalated_at.is_(None),
                HandoffRequest.queued_at <= cutoff,
            )
            due = self.s.db.for_update(due.order_by(HandoffRequest.id).limit(BATCH), skip_locked=True)
            for request in (await session.scalars(due)).all():
                if not await store.transition(
                    session,
                    request,
                    expect=(QUEUED,),
                    values={"escalated_at": now},
                    extra=HandoffRequest.escalated_at.is_(None),
                ):
                    continue
                fired += 1
                team = self.s.team_of(request)
                fallback = self.s.config.fallback
                note = texts.escalated_note(minutes, team.name)
                if fallback.id != team.id:
                    request.team_id = fallback.id
                await self.s.post_cards(session, request, fallback, note)
                await self.s.relay.to_user(
                    session,
                    request,
                    self.s.render(
                        "handoff_still_waiting",
                        request.language,
                        self.s._team_placeholders(team),
                    ),
                )
                await store.audit(session, now, "escalate", request, detail=f"to={fallback.id}")
                log.info("handoff %s escalated to %s", request.id, fallback.id)
        return fired

    async def _remind(self, now: datetime) -> int:
        """An open chat with no message either way for a while: remind the member
        (once per quiet spell) to answer or /end it."""
        minutes = self.s.config.idle_reminder_minutes
        cutoff = now - timedelta(minutes=minutes)
        not_yet = or_(
            HandoffRequest.reminded_at.is_(None),
            HandoffRequest.reminded_at < HandoffRequest.last_activity_at,
        )
        fired = 0
        async with self.s.db.transaction() as session:
            due = select(HandoffRequest).where(
                HandoffRequest.status == ACTIVE, HandoffRequest.last_activity_at <= cutoff, not_yet
            )
            due = self.s.db.for_update(due.order_by(HandoffRequest.id).limit(BATCH), skip_locked=True)
            for request in (await session.scalars(due)).all():
                if not await store.transition(
                    session, request, expect=(ACTIVE,), values={"reminded_at": now}, extra=not_yet
                ):
                    continue
                fired += 1
                self.s.relay.to_member(session, request, texts.idle_reminder(request.alias, minutes))
        return fired


"""Clocks of the handoff: unclaimed requests escalate, idle chats remind.

Several processes may run these timers against one PostgreSQL database: due
rows are selected with ``FOR UPDATE SKIP LOCKED`` and each is then taken by a
conditional update (``WHERE escalated_at IS NULL``...), so every timer fires
once. Time comes from the context's injectable clock: tests move the clock
and call :meth:`Timers.tick` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from handoff import store, texts
from handoff.context import HandoffContext
from handoff.models import ACTIVE, QUEUED, HandoffRequest
from handoff.relay import Relay
from handoff.requests import Requests

log = logging.getLogger(__name__)

BATCH = 50


class Timers:
    def __init__(
        self, ctx: HandoffContext, relay: Relay, requests: Requests, *, interval: float = 15.0
    ) -> None:
        self.ctx = ctx
        self.relay = relay
        self.requests = requests
        self.interval = interval

    async def run(self) -> None:
        """Tick until shutdown; stops between ticks, never mid-transaction."""
        stopping = self.ctx.outbox.stopping
        while not stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("handoff timers failed; will try again")
            self.ctx.outbox.wake()
            try:
                await asyncio.wait_for(stopping.wait(), self.interval)
            except TimeoutError:
                pass

    async def tick(self, now: datetime | None = None) -> dict[str, int]:
        """One pass of every timer; returns how many fired (for tests and logs)."""
        now = now or self.ctx.clock()
        fired = {
            "intake": await self._intake(now),
            "escalated": await self._escalate(now),
            "reminded": await self._remind(now),
        }
        async with self.ctx.db.transaction() as session:
            fired["card_ids"] = await store.remember_card_ids(session)
        self.ctx.outbox.wake()
        return fired

    async def _intake(self, now: datetime) -> int:
        """Questions before connecting left unanswered: the card goes out anyway
        (marked "not answered"), so she is never held back by a question."""
        cutoff = now - timedelta(minutes=self.ctx.config.intake_timeout_minutes)
        fired = 0
        async with self.ctx.db.transaction() as session:
            for request in await store.due_intakes(session, self.ctx.db, cutoff, BATCH):
                if request.intake_step == "summary":
                    request.summary_enc = None  # no yes: nothing is shared
                if await self.requests.finish_intake(session, request):
                    fired += 1
        return fired

    async def _escalate(self, now: datetime) -> int:
        """Unclaimed after ``claim_timeout_minutes``: she hears, honestly, that no
        one has taken it yet (with hotlines), and the fallback team gets the card."""
        minutes = self.ctx.config.claim_timeout_minutes
        cutoff = now - timedelta(minutes=minutes)
        fired = 0
        async with self.ctx.db.transaction() as session:
            for request in await store.due_escalations(session, self.ctx.db, cutoff, BATCH):
                if not await store.transition(
                    session,
                    request,
                    expect=(QUEUED,),
                    values={"escalated_at": now},
                    extra=HandoffRequest.escalated_at.is_(None),
                ):
                    continue
                fired += 1
                team = self.ctx.team_of(request)
                fallback = self.ctx.config.fallback
                note = texts.escalated_note(minutes, team.name)
                if fallback.id != team.id:
                    request.team_id = fallback.id
                await self.requests.post_cards(session, request, fallback, note)
                await self.relay.to_user(
                    session,
                    request,
                    self.ctx.render(
                        "handoff_still_waiting",
                        request.language,
                        self.ctx.team_placeholders(team),
                    ),
                )
                await store.audit(session, now, "escalate", request, detail=f"to={fallback.id}")
                log.info("handoff %s escalated to %s", request.id, fallback.id)
        return fired

    async def _remind(self, now: datetime) -> int:
        """An open chat with no message either way for a while: remind the member
        (once per quiet spell) to answer or /end it."""
        minutes = self.ctx.config.idle_reminder_minutes
        cutoff = now - timedelta(minutes=minutes)
        not_yet = store.not_reminded_since_activity()
        fired = 0
        async with self.ctx.db.transaction() as session:
            for request in await store.due_reminders(session, self.ctx.db, cutoff, BATCH):
                if not await store.transition(
                    session, request, expect=(ACTIVE,), values={"reminded_at": now}, extra=not_yet
                ):
                    continue
                fired += 1
                self.relay.to_member(session, request, texts.idle_reminder(request.alias, minutes))
        return fired

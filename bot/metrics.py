"""The counters behind ``/metrics`` (Prometheus format). Labels are channels,
intents and states — never a user, a text or an id.

No web framework here: the engine updates these counters, and the engine never
imports aiohttp; the HTTP endpoint lives in :mod:`bot.metrics_http`."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from bot.interfaces import Handoff
from bot.store.db import Database
from bot.store.models import OutboxItem


class Metrics:
    """One registry per runtime, so tests and several runtimes in one process
    don't collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "helpline_turns", "Updates handled", ["channel"], registry=self.registry
        )
        self.intents = Counter(
            "helpline_intents", "Intents understood", ["intent"], registry=self.registry
        )
        self.duplicates = Counter(
            "helpline_duplicate_updates", "Redelivered updates ignored", registry=self.registry
        )
        self.unreadable = Counter(
            "helpline_unreadable_updates",
            "Updates acknowledged but not readable (unknown or malformed shapes)",
            ["channel"],
            registry=self.registry,
        )
        self.unanswerable = Counter(
            "helpline_unanswerable_messages",
            "Messages the platform gives no way to answer",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "helpline_turn_seconds",
            "Time to handle one update",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "helpline_outbox_items", "Outbox rows by status", ["status"], registry=self.registry
        )
        self.handoffs = Gauge(
            "helpline_handoffs", "Handoff requests by state", ["state"], registry=self.registry
        )
        self.voice = Gauge(
            "helpline_voice_transcriptions",
            "Voice messages sent to speech-to-text by this process, by outcome",
            ["outcome"],
            registry=self.registry,
        )

    def observe_turn(
        self, channel: str, intent: str | None, seconds: float, duplicate: bool
    ) -> None:
        if duplicate:
            self.duplicates.inc()
            return
        self.turns.labels(channel=channel).inc()
        self.intents.labels(intent=intent or "none").inc()
        self.latency.observe(seconds)

    def unreadable_update(self, channel: str) -> None:
        """An update the channel acknowledged without reading it: the platform
        must not retry it forever, but someone should see that it happens."""
        self.unreadable.labels(channel=channel).inc()

    def unanswerable_message(self, channel: str, kind: str) -> None:
        """A message that reached us with no way to reply (Zalo OA anonymous chats)."""
        self.unanswerable.labels(channel=channel, kind=kind).inc()

    async def refresh(self, db: Database, handoff: Handoff | None = None) -> None:
        """Gauges read from the database at scrape time (shared by all processes)."""
        async with db.transaction() as s:
            rows = (
                await s.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))
            ).all()
            counts = await handoff.counts_by_state(s) if handoff is not None else {}
        for status in ("pending", "sending", "sent", "failed", "scheduled"):
            self.outbox_depth.labels(status=status).set(0)
        for status, n in rows:
            self.outbox_depth.labels(status=status).set(n)
        for state, n in counts.items():
            self.handoffs.labels(state=state).set(n)

    def observe_voice(self, outcomes: Mapping[str, int]) -> None:
        """The speech-to-text client's outcomes ("ok", "timeout"...): counts only."""
        for outcome, n in outcomes.items():
            self.voice.labels(outcome=outcome).set(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)

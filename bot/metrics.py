"""``/metrics`` in Prometheus format. Labels are channels, intents and states —
never a user, a text or an id."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from bot.appkeys import runtime_of
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

    def observe_turn(
        self, channel: str, intent: str | None, seconds: float, duplicate: bool
    ) -> None:
        if duplicate:
            self.duplicates.inc()
            return
        self.turns.labels(channel=channel).inc()
        self.intents.labels(intent=intent or "none").inc()
        self.latency.observe(seconds)

    async def refresh(self, db: Database, handoff: Any = None) -> None:
        """Gauges read from the database at scrape time (shared by all processes)."""
        async with db.transaction() as s:
            rows = (
                await s.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))
            ).all()
            counts = (
                await handoff.counts_by_state(s)
                if handoff is not None and hasattr(handoff, "counts_by_state")
                else {}
            )
        for status in ("pending", "sending", "sent", "failed"):
            self.outbox_depth.labels(status=status).set(0)
        for status, n in rows:
            self.outbox_depth.labels(status=status).set(n)
        for state, n in counts.items():
            self.handoffs.labels(state=state).set(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def metrics_endpoint(request: web.Request) -> web.Response:
    runtime = runtime_of(request.app)
    metrics: Metrics = runtime.engine.metrics
    await metrics.refresh(runtime.db, runtime.engine.handoff)
    return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

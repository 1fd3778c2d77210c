"""The outbox: written before sending, ordered per recipient, retried, never
lost, never sent twice by two workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select, update

from bot.crypto import KeyRing
from bot.interfaces import DeliveryError, Failure
from bot.messages import Button, Outgoing, utcnow
from bot.outbox import Outbox, OutboxWorker
from bot.store.db import Database
from bot.store.models import OutboxItem

SECRET = "o" * 40


class RecordingPlatform:
    """A stand-in for a messaging platform: records deliveries, can fail on cue."""

    channel = "test"

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []
        self.failures: list[DeliveryError] = []
        self.delay = 0.0

    async def send(self, address: str, message: Outgoing) -> list[str]:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append((address, message.text))
        return [str(len(self.delivered))]


async def _setup(url: str) -> tuple[Database, Outbox, RecordingPlatform, OutboxWorker]:
    db = Database(url)
    await db.upgrade()
    outbox = Outbox(KeyRing(SECRET))
    platform = RecordingPlatform()
    worker = OutboxWorker(db, outbox, {"test": platform})
    return db, outbox, platform, worker


async def test_payload_and_address_sealed_then_delivered(database_url: str) -> None:
    db, outbox, platform, worker = await _setup(database_url)
    try:
        async with db.transaction() as s:
            outbox.to_address(s, "test", "chat-777", Outgoing("xin chào", [Button("OK", "a:ok")]))
        async with db.transaction() as s:
            row = await s.scalar(select(OutboxItem))
            assert (
                row is not None
                and "chat-777" not in row.address_enc
                and "xin chào" not in row.payload_enc
            )
        assert await worker.drain() == 1
        assert platform.delivered == [("chat-777", "xin chào")]
        async with db.transaction() as s:
            row = await s.scalar(select(OutboxItem))
            assert row is not None and row.status == "sent" and row.platform_ids == ["1"]
    finally:
        await db.dispose()


async def test_retry_after_keeps_per_recipient_order(database_url: str) -> None:
    db, outbox, platform, worker = await _setup(database_url)
    try:
        async with db.transaction() as s:
            for i in range(3):
                outbox.to_address(s, "test", "A", Outgoing(f"a{i}"))
            outbox.to_address(s, "test", "B", Outgoing("b0"))
        platform.failures.append(DeliveryError(Failure.THROTTLED, "429", retry_after=0.0))
        await worker.drain()
        await worker.drain()
        texts_a = [t for addr, t in platform.delivered if addr == "A"]
        assert texts_a == ["a0", "a1", "a2"]
        assert ("B", "b0") in platform.delivered
    finally:
        await db.dispose()


async def test_permanent_failure_is_marked_not_retried(database_url: str) -> None:
    db, outbox, platform, worker = await _setup(database_url)
    seen: list[Failure] = []

    async def hook(session: object, item: OutboxItem, failure: Failure) -> None:
        seen.append(failure)

    worker.on_undeliverable = hook
    try:
        async with db.transaction() as s:
            outbox.to_address(s, "test", "A", Outgoing("one"))
            outbox.to_address(s, "test", "A", Outgoing("two"))
        platform.failures.append(DeliveryError(Failure.CONTACT_STOPPED, "blocked by the user"))
        await worker.drain()
        async with db.transaction() as s:
            statuses = list(await s.scalars(select(OutboxItem.status).order_by(OutboxItem.id)))
        assert statuses == ["failed", "sent"]
        assert seen == [Failure.CONTACT_STOPPED]
        assert platform.delivered == [("A", "two")]
    finally:
        await db.dispose()


async def test_row_left_sending_by_a_crash_is_delivered_later(database_url: str) -> None:
    db, outbox, platform, worker = await _setup(database_url)
    try:
        async with db.transaction() as s:
            outbox.to_address(s, "test", "A", Outgoing("survives"))
        # The process died after claiming the row: it stays "sending".
        async with db.transaction() as s:
            await s.execute(update(OutboxItem).values(status="sending", next_attempt_at=utcnow()))
        assert await worker.drain() == 0, "a fresh lease is respected"
        async with db.transaction() as s:
            await s.execute(
                update(OutboxItem).values(next_attempt_at=utcnow() - timedelta(minutes=5))
            )
        assert await worker.drain() == 1
        assert platform.delivered == [("A", "survives")]
    finally:
        await db.dispose()


async def test_two_workers_deliver_each_message_once(postgres_url: str) -> None:
    db, outbox, platform, worker = await _setup(postgres_url)
    db2 = Database(postgres_url)
    worker2 = OutboxWorker(db2, outbox, {"test": platform}, batch=5)
    worker.batch = 5
    platform.delay = 0.005
    try:
        async with db.transaction() as s:
            for i in range(40):
                outbox.to_address(s, "test", f"r{i % 10}", Outgoing(f"m{i}"))
        await asyncio.gather(worker.drain(), worker2.drain())
        texts = [t for _, t in platform.delivered]
        assert sorted(texts) == sorted(f"m{i}" for i in range(40))
        assert len(texts) == len(set(texts)) == 40
        for r in range(10):
            mine = [int(t[1:]) for addr, t in platform.delivered if addr == f"r{r}"]
            assert mine == sorted(mine), "per-recipient order kept across workers"
    finally:
        await db.dispose()
        await db2.dispose()

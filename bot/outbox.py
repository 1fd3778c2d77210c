"""The outbox: messages to anyone but the sender of the current update.

A row is written in the same transaction as the decision that produced it and
delivered afterwards by :class:`OutboxWorker`, retried with backoff until sent
or known undeliverable (docs/design.md, promise 9). Delivery is ordered per recipient, and
on PostgreSQL several processes share the work with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.crypto import DecryptionError, KeyRing, address_context, outbox_payload_context
from bot.interfaces import DeliveryError, Failure, MessageDeleter, Sender
from bot.logs import short
from bot.messages import Outgoing, utcnow
from bot.store.checkins import SCHEDULED
from bot.store.db import Database
from bot.store.models import OutboxItem, User
from bot.store.users import remember_message_ids

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
#: A row left "sending" longer than this (the process died mid-send) is retried.
LEASE = timedelta(seconds=60)

#: Called when a row is given up as undeliverable: (session, item, why) → None.
UndeliverableHook = Callable[[AsyncSession, OutboxItem, Failure], Awaitable[None]]
#: Called in the transaction that marks a row sent, before the row is updated:
#: (session, item, platform ids).
DeliveredHook = Callable[[AsyncSession, OutboxItem, list[str]], Awaitable[None]]


class Outbox:
    """Writing side: used inside the caller's transaction."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self._wake = asyncio.Event()
        self._added = False
        self.stopping = asyncio.Event()

    def to_user(
        self, session: AsyncSession, user: User, message: Outgoing, *, ref: str | None = None
    ) -> OutboxItem:
        """Queue a message for a person; discreet delivery follows her setting."""
        if user.discreet:
            message.silent = True
        return self._queue(session, user.channel, user.key, user.address_enc, message, ref)

    def later_to_user(
        self,
        session: AsyncSession,
        user: User,
        message: Outgoing,
        *,
        due: datetime,
        ref: str,
    ) -> OutboxItem:
        """Queue a message for a person that goes out at ``due`` (check-ins):
        status ``scheduled`` until then, so it never holds back the messages
        queued for her meanwhile."""
        item = self.to_user(session, user, message, ref=ref)
        item.status = SCHEDULED
        item.next_attempt_at = due
        return item

    def to_address(
        self,
        session: AsyncSession,
        channel: str,
        address: str,
        message: Outgoing,
        *,
        ref: str | None = None,
    ) -> OutboxItem:
        """Queue a message for a team member or a team group, by platform address."""
        recipient = self.keyring.user_key(channel, address)
        address_enc = self.keyring.seal(address, address_context(recipient))
        return self._queue(session, channel, recipient, address_enc, message, ref)

    def _queue(
        self,
        session: AsyncSession,
        channel: str,
        recipient: str,
        address_enc: str,
        message: Outgoing,
        ref: str | None,
    ) -> OutboxItem:
        """The row itself: payload sealed, due now, noted for the next wake()."""
        now = utcnow()
        item = OutboxItem(
            channel=channel,
            recipient=recipient,
            address_enc=address_enc,
            payload_enc=self.keyring.seal_json(
                message.to_dict(), outbox_payload_context(recipient)
            ),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            ref=ref,
        )
        session.add(item)
        self._added = True
        return item

    def wake(self) -> None:
        """Tell the worker in this process that new rows are committed (a no-op
        when nothing was queued since the last wake: most turns queue nothing)."""
        if self._added:
            self._added = False
            self._wake.set()

    def stop(self) -> None:
        """Ask the worker to finish its current pass and return (shutdown):
        cancelling it mid-transaction could strand a database connection."""
        self.stopping.set()
        self._wake.set()

    async def wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        senders: dict[str, Sender],
        *,
        batch: int = 50,
        poll_interval: float = 1.0,
        on_undeliverable: UndeliverableHook | None = None,
        on_delivered: DeliveredHook | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.keyring = outbox.keyring
        self.senders = senders
        self.batch = batch
        self.poll_interval = poll_interval
        self.on_undeliverable = on_undeliverable
        self.on_delivered = on_delivered
        #: What "due" is measured against; tests move it forward instead of waiting.
        self.clock = clock

    async def run(self) -> None:
        while not self.outbox.stopping.is_set():
            try:
                sent = await self.drain_once()
            except Exception:
                log.exception("outbox pass failed; retrying")
                sent = 0
            if sent == 0 and not self.outbox.stopping.is_set():
                await self.outbox.wait(self.poll_interval)

    async def drain(self, max_passes: int = 100) -> int:
        """Deliver everything due now (tests, shutdown)."""
        total = 0
        for _ in range(max_passes):
            n = await self.drain_once()
            total += n
            if n == 0:
                break
        return total

    async def drain_once(self) -> int:
        items = await self._claim()
        if not items:
            return 0
        # Different recipients in parallel, one recipient's rows in order.
        by_recipient: dict[str, list[OutboxItem]] = {}
        for item in items:
            by_recipient.setdefault(item.recipient, []).append(item)
        await asyncio.gather(*(self._deliver_in_order(rows) for rows in by_recipient.values()))
        return len(items)

    async def _claim(self) -> list[OutboxItem]:
        now = self.clock()
        earlier = aliased(OutboxItem)
        blocked = exists().where(
            and_(
                earlier.recipient == OutboxItem.recipient,
                earlier.id < OutboxItem.id,
                earlier.status.in_(("pending", "sending")),
            )
        )
        # A scheduled row (a check-in) is taken like a pending one once due;
        # until then it is not "earlier" for anyone (``blocked`` ignores it).
        waiting = OutboxItem.status.in_(("pending", SCHEDULED))
        due = (waiting & (OutboxItem.next_attempt_at <= now)) | (
            (OutboxItem.status == "sending") & (OutboxItem.next_attempt_at <= now - LEASE)
        )
        stmt = select(OutboxItem).where(due, ~blocked).order_by(OutboxItem.id).limit(self.batch)
        stmt = self.db.for_update(stmt, skip_locked=True)
        async with self.db.transaction() as session:
            items = list((await session.scalars(stmt)).all())
            for item in items:
                item.status = "sending"
                item.next_attempt_at = now
                item.attempts += 1
        return items

    async def _deliver_in_order(self, rows: list[OutboxItem]) -> None:
        for index, item in enumerate(rows):
            ok = await self._deliver(item)
            if not ok:
                # Keep order: put this recipient's later rows back untouched.
                await self._release([r.id for r in rows[index + 1 :]])
                return

    async def _deliver(self, item: OutboxItem) -> bool:
        sender = self.senders.get(item.channel)
        if sender is None:
            await self._retry(item, f"{Failure.CONFIG.value}: no sender for channel", delay=30.0)
            return False
        try:
            address = self.keyring.open(item.address_enc, address_context(item.recipient))
            payload = self.keyring.open_json(
                item.payload_enc, outbox_payload_context(item.recipient)
            )
            message = Outgoing.from_dict(payload)
            if message.is_deletion:
                # A deletion job: where the platform cannot delete, nothing to do.
                if isinstance(sender, MessageDeleter):
                    await sender.delete_messages(address, message.delete_ids)
                ids: list[str] = []
            else:
                ids = await sender.send(address, message)
        except DeliveryError as exc:
            if exc.permanent or item.attempts >= MAX_ATTEMPTS:
                await self._give_up(item, exc)
                return True  # nothing more can be done; later rows may go
            delay = exc.retry_after if exc.retry_after is not None else _backoff(item.attempts)
            await self._retry(item, exc.reason, delay)
            return False
        except DecryptionError:
            # Moved from another row, tampered with, or under a dropped key: it
            # will never open, and retrying would hold back her later messages.
            log.warning(
                "outbox %s to %s: sealed value does not open", item.id, short(item.recipient)
            )
            await self._give_up(item, DeliveryError(Failure.REJECTED, "sealed value does not open"))
            return True
        except Exception as exc:  # network or programming error: retry, never crash the worker
            log.warning(
                "outbox %s to %s failed: %s", item.id, short(item.recipient), type(exc).__name__
            )
            error = DeliveryError(Failure.CONNECTION, type(exc).__name__)
            if item.attempts >= MAX_ATTEMPTS:
                await self._give_up(item, error)
                return True
            await self._retry(item, error.reason, _backoff(item.attempts))
            return False
        async with self.db.transaction() as session:
            if self.on_delivered is not None and ids:
                # First: the hook locks what it records against (a handoff
                # request) before this row, the order erase locks them in.
                await self.on_delivered(session, item, ids)
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item.id)
                .values(status="sent", sent_at=utcnow(), platform_ids=ids, last_error=None)
            )
            await remember_message_ids(session, item.recipient, ids, utcnow())
        return True

    async def _retry(self, item: OutboxItem, reason: str, delay: float) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item.id)
                .values(
                    status="pending",
                    next_attempt_at=self.clock() + timedelta(seconds=delay),
                    last_error=reason[:200],
                )
            )

    async def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids), OutboxItem.status == "sending")
                .values(status="pending", attempts=OutboxItem.attempts - 1)
            )

    async def _give_up(self, item: OutboxItem, error: DeliveryError) -> None:
        reason = error.reason
        log.info("outbox %s to %s undeliverable: %s", item.id, short(item.recipient), reason[:80])
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item.id)
                .values(status="failed", last_error=reason[:200], sent_at=utcnow())
            )
            if self.on_undeliverable is not None:
                await self.on_undeliverable(session, item, error.failure)


def _backoff(attempts: int) -> float:
    base: float = min(300.0, 0.5 * (2 ** max(0, attempts - 1)))
    return base * (0.75 + random.random() / 2)


async def has_waiting(db: Database, recipient: str) -> bool:
    """Whether messages to ``recipient`` still wait in the outbox (not yet sent):
    a direct reply now would overtake them."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(OutboxItem.id)
            .where(
                OutboxItem.recipient == recipient,
                OutboxItem.status.in_(("pending", "sending")),
            )
            .limit(1)
        )
    return found is not None

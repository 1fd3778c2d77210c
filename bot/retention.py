"""Periodic purge: inactive people, old dedupe ids, chat message ids past the
48-hour erase window, delivered outbox rows. Every statement is idempotent, so
several processes may run it at once without harm."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import utcnow
from bot.store import checkins
from bot.store.db import Database
from bot.store.models import MessageRef, OutboxItem, User

log = logging.getLogger(__name__)

MESSAGE_REF_HOURS = 48
OUTBOX_KEEP_HOURS = 24

#: Extra purge steps other layers add (handoff transcripts...): (session, retention) → rows.
PurgeHook = Callable[[AsyncSession, timedelta], Awaitable[int]]
#: Returns the user keys that must not be purged (e.g. in an open handoff).
KeepHook = Callable[[AsyncSession], Awaitable[set[str]]]


async def purge(
    db: Database,
    retention_days: int,
    hooks: list[PurgeHook] | None = None,
    keep: KeepHook | None = None,
) -> dict[str, int]:
    now = utcnow()
    retention = timedelta(days=retention_days)
    counts: dict[str, int] = {}
    async with db.transaction() as session:
        keep_keys = await keep(session) if keep else set()
        stale = delete(User).where(
            User.last_seen_at < now - retention,
            # She asked to be checked on: kept until the check-in has gone.
            User.key.not_in(checkins.waiting_recipients()),
        )
        if keep_keys:
            stale = stale.where(User.key.not_in(keep_keys))
        counts["users"] = (await session.execute(stale)).rowcount or 0  # type: ignore[attr-defined]
        counts["message_refs"] = (
            await session.execute(
                delete(MessageRef).where(
                    MessageRef.created_at < now - timedelta(hours=MESSAGE_REF_HOURS)
                )
            )
        ).rowcount or 0  # type: ignore[attr-defined]
        counts["outbox"] = (
            await session.execute(
                delete(OutboxItem).where(
                    OutboxItem.status.in_(("sent", "failed")),
                    OutboxItem.created_at < now - timedelta(hours=OUTBOX_KEEP_HOURS),
                )
            )
        ).rowcount or 0  # type: ignore[attr-defined]
        for hook in hooks or []:
            counts[getattr(hook, "__name__", "hook")] = await hook(session, retention)
    if any(counts.values()):
        log.info("retention purge: %s", counts)
        await db.scrub()
    return counts


async def run_periodically(
    db: Database,
    retention_days: int,
    hooks: list[PurgeHook],
    keep: KeepHook | None,
    stopping: asyncio.Event,
    interval: float = 3600.0,
) -> None:
    while not stopping.is_set():
        try:
            await purge(db, retention_days, hooks, keep)
        except Exception:
            log.exception("retention purge failed; will try again")
        try:
            await asyncio.wait_for(stopping.wait(), interval)
        except TimeoutError:
            pass

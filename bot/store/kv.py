"""Small sealed values shared by every process, in the ``kv`` table.

Used for things that must survive a restart and be the same in N processes
behind a load balancer (docs/design.md, Scale): the Zalo OA token pair, the numbered
options last shown to a person on Zalo. Callers seal values with the
:class:`~bot.crypto.KeyRing`; this module only stores strings, so it never
sees a token or a label in clear.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import utcnow
from bot.store.db import Database
from bot.store.models import KeyValue


async def get(session: AsyncSession, name: str) -> KeyValue | None:
    return await session.scalar(
        select(KeyValue).where(KeyValue.name == name).execution_options(populate_existing=True)
    )


async def get_locked(session: AsyncSession, db: Database, name: str) -> KeyValue | None:
    """The row, locked until the transaction ends, so that a read-decide-write
    (e.g. spending a single-use refresh token) happens once across processes.

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite has no row locks, so a no-op
    write first takes the database write lock (other connections wait on
    ``busy_timeout``); a plain read first would let two transactions read the
    same value and then fail or both act on it.
    """
    if not db.is_postgres:
        await session.execute(
            update(KeyValue).where(KeyValue.name == name).values(name=KeyValue.name)
        )
    stmt = db.for_update(select(KeyValue).where(KeyValue.name == name))
    row: KeyValue | None = await session.scalar(stmt.execution_options(populate_existing=True))
    return row


async def put(
    session: AsyncSession, db: Database, name: str, value_enc: str, now: datetime
) -> None:
    """Insert or replace one value (atomic upsert on both databases)."""
    stmt = db.insert(KeyValue).values(name=name, value_enc=value_enc, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"value_enc": value_enc, "updated_at": now}
    )
    await session.execute(stmt)


async def put_if_absent(
    session: AsyncSession, db: Database, name: str, value_enc: str, now: datetime
) -> bool:
    """Insert unless the name exists; True if this call inserted it."""
    stmt = db.insert(KeyValue).values(name=name, value_enc=value_enc, updated_at=now)
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    return bool(getattr(result, "rowcount", 0))


async def remove(session: AsyncSession, name: str) -> None:
    await session.execute(delete(KeyValue).where(KeyValue.name == name))


async def remove_older(session: AsyncSession, prefix: str, before: datetime) -> int:
    """Delete values under ``prefix`` not updated since ``before`` (retention)."""
    result = await session.execute(
        delete(KeyValue).where(KeyValue.name.startswith(prefix), KeyValue.updated_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


PurgeStep = Callable[[AsyncSession, timedelta], Awaitable[int]]


def purge_hook(prefix: str, max_age: timedelta) -> PurgeStep:
    """A retention step for values under ``prefix``: drop those not updated
    for ``max_age`` (or the retention period, if shorter)."""

    async def purge(session: AsyncSession, retention: timedelta) -> int:
        return await remove_older(session, prefix, utcnow() - min(max_age, retention))

    return purge

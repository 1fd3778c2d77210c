"""Check-ins she asked for, kept as outbox rows that are not due yet.

A check-in is one ``outbox`` row with status ``scheduled``, ``ref``
:data:`CHECKIN_REF`, her pseudonym as recipient, her sealed address and the
sealed neutral message, due at ``next_attempt_at``. Nothing else: not why
she asked, nothing she wrote. The outbox worker takes it when it is due
(``FOR UPDATE SKIP LOCKED``, so once across processes); erase deletes every
outbox row of hers, and stop deletes these.
"""

from __future__ import annotations

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import OutboxItem

#: ``outbox.ref`` of a check-in.
CHECKIN_REF = "checkin"
#: ``outbox.status`` of a row that waits for its time (never blocks her
#: other messages, see bot/outbox.py).
SCHEDULED = "scheduled"


async def cancel(session: AsyncSession, user_keys: list[str]) -> int:
    """Delete every check-in still waiting for these pseudonyms; how many."""
    result = await session.execute(
        delete(OutboxItem).where(
            OutboxItem.recipient.in_(user_keys),
            OutboxItem.ref == CHECKIN_REF,
            OutboxItem.status == SCHEDULED,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def pending(session: AsyncSession, user_key: str) -> bool:
    """True if a check-in is waiting for her."""
    found = await session.scalar(
        select(OutboxItem.id)
        .where(
            OutboxItem.recipient == user_key,
            OutboxItem.ref == CHECKIN_REF,
            OutboxItem.status == SCHEDULED,
        )
        .limit(1)
    )
    return found is not None


def waiting_recipients() -> Select[str]:
    """Pseudonyms with a check-in still waiting (the retention purge keeps
    these people until it has gone)."""
    return select(OutboxItem.recipient).where(
        OutboxItem.ref == CHECKIN_REF, OutboxItem.status == SCHEDULED
    )

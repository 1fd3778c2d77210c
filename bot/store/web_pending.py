"""What waits for a person's browser on the web chat (``web_pending``): every
message for her, sealed, with a sequence number, kept until the page
acknowledges it (replay after a network drop), dropped on quick exit, erase,
or after :data:`PENDING_KEEP`. Rows are found by her pseudonym only."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import utcnow
from bot.store.models import WebPending

#: Unacknowledged messages for a browser that never came back are dropped after this.
PENDING_KEEP = timedelta(hours=24)


async def append(
    session: AsyncSession,
    user_key: str,
    payloads_enc: list[str],
    now: datetime,
    *,
    replace: bool = False,
) -> list[int]:
    """Store sealed payloads in order; their sequence numbers. ``replace``
    drops what was waiting first (erase: nothing older may follow its notice)."""
    if replace:
        await drop(session, user_key)
    rows = [WebPending(user_key=user_key, payload_enc=p, created_at=now) for p in payloads_enc]
    session.add_all(rows)
    await session.flush()
    return [row.seq for row in rows]


async def after(
    session: AsyncSession, user_key: str, seq: int, limit: int = 200
) -> list[tuple[int, str]]:
    """(sequence number, sealed payload) of her rows after ``seq``, in order."""
    rows = await session.execute(
        select(WebPending.seq, WebPending.payload_enc)
        .where(WebPending.user_key == user_key, WebPending.seq > seq)
        .order_by(WebPending.seq)
        .limit(limit)
    )
    return [(int(s), str(p)) for s, p in rows.all()]


async def latest_seq(session: AsyncSession, user_key: str) -> int:
    value = await session.scalar(
        select(func.max(WebPending.seq)).where(WebPending.user_key == user_key)
    )
    return int(value or 0)


async def acknowledge(session: AsyncSession, user_key: str, seq: int) -> None:
    """The page has shown everything up to ``seq``."""
    await session.execute(
        delete(WebPending).where(WebPending.user_key == user_key, WebPending.seq <= seq)
    )


async def drop(session: AsyncSession, user_key: str) -> None:
    await session.execute(delete(WebPending).where(WebPending.user_key == user_key))


async def purge_web_pending(session: AsyncSession, retention: timedelta) -> int:
    """Retention hook: messages a browser never came back for."""
    result = await session.execute(
        delete(WebPending).where(WebPending.created_at < utcnow() - min(retention, PENDING_KEEP))
    )
    return int(getattr(result, "rowcount", 0) or 0)

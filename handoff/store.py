"""Queries and small writes shared by the user side, the team side and the timers.

Every state change of a request is a conditional ``UPDATE ... WHERE status=...``
whose row count says whether this caller won: the database, not process
memory, decides between two members pressing Take at once or two processes
running the same timer (DESIGN.md §3.10, §5).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import KeyRing
from bot.store.db import Database
from bot.store.models import OutboxItem
from handoff.models import (
    ACTIVE,
    CLOSED,
    OPEN_STATES,
    QUEUED,
    HandoffAudit,
    HandoffCard,
    HandoffRequest,
    HandoffSeen,
)

#: No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B, U/V: easy to read aloud and to type.
ALIAS_ALPHABET = "ACDEFHJKMNPQRTWXY3479"
ALIAS_LENGTH = 4


def random_alias(length: int = ALIAS_LENGTH) -> str:
    return "".join(secrets.choice(ALIAS_ALPHABET) for _ in range(length))


def normalise_alias(text: str) -> str:
    return text.strip().lstrip("#").upper()


async def open_request_for_user(session: AsyncSession, user_key: str) -> HandoffRequest | None:
    stmt = (
        select(HandoffRequest)
        .where(HandoffRequest.user_key == user_key, HandoffRequest.status.in_(OPEN_STATES))
        .order_by(HandoffRequest.id.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def last_request_for_user(session: AsyncSession, user_key: str) -> HandoffRequest | None:
    stmt = (
        select(HandoffRequest)
        .where(HandoffRequest.user_key == user_key)
        .order_by(HandoffRequest.id.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def member_requests(session: AsyncSession, member_keys: list[str]) -> list[HandoffRequest]:
    """A member's open chats, oldest first."""
    if not member_keys:
        return []
    stmt = (
        select(HandoffRequest)
        .where(HandoffRequest.status == ACTIVE, HandoffRequest.member_key.in_(member_keys))
        .order_by(HandoffRequest.id)
    )
    return list((await session.scalars(stmt)).all())


async def create_request(
    session: AsyncSession, db: Database, values: dict[str, Any]
) -> HandoffRequest:
    """Insert a queued request under an alias unique among open requests.

    The partial unique index is the guarantee; the look-up first only avoids
    most retries. On PostgreSQL a clash rolls back a savepoint and tries again
    (SQLite has one writer, so the look-up is already exact there)."""
    for attempt in range(20):
        alias = random_alias(ALIAS_LENGTH if attempt < 12 else ALIAS_LENGTH + 1)
        taken = await session.scalar(
            select(HandoffRequest.id).where(
                HandoffRequest.alias == alias, HandoffRequest.status != CLOSED
            )
        )
        if taken is not None:
            continue
        request = HandoffRequest(alias=alias, **values)
        if not db.is_postgres:
            session.add(request)
            await session.flush()
            return request
        try:
            async with session.begin_nested():
                session.add(request)
                await session.flush()
        except IntegrityError:
            continue
        return request
    raise RuntimeError("could not find a free request alias")


async def transition(
    session: AsyncSession,
    request: HandoffRequest,
    *,
    expect: tuple[str, ...],
    values: dict[str, Any],
    extra: Any = None,
) -> bool:
    """Conditional update of one request; True if this caller made the change.

    The ORM object is refreshed either way, so callers see the winner's state."""
    stmt = (
        update(HandoffRequest)
        .where(HandoffRequest.id == request.id, HandoffRequest.status.in_(expect))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if extra is not None:
        stmt = stmt.where(extra)
    result = await session.execute(stmt)
    await session.refresh(request)
    return bool(getattr(result, "rowcount", 0) == 1)


async def audit(
    session: AsyncSession,
    at: datetime,
    event: str,
    request: HandoffRequest,
    member_alias: str | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        HandoffAudit(
            at=at,
            event=event,
            request_alias=request.alias,
            team_id=request.team_id,
            member_alias=member_alias,
            detail=detail[:64] if detail else None,
        )
    )


async def open_cards(session: AsyncSession, request_id: int) -> list[HandoffCard]:
    stmt = select(HandoffCard).where(
        HandoffCard.request_id == request_id, HandoffCard.state == "open"
    )
    return list((await session.scalars(stmt)).all())


async def card_message_id(session: AsyncSession, card: HandoffCard) -> str | None:
    """The platform id of a posted card: known from a button press, or read from
    the outbox row once the channel has delivered it (and remembered, since
    delivered outbox rows are purged after a day)."""
    if card.message_id:
        return card.message_id
    if card.outbox_id is None:
        return None
    item = await session.get(OutboxItem, card.outbox_id)
    if item is None or item.status != "sent" or not item.platform_ids:
        return None
    card.message_id = str(item.platform_ids[0])
    return card.message_id


async def remember_card_ids(session: AsyncSession) -> int:
    """Copy delivered cards' platform ids out of the outbox before it is purged."""
    stmt = (
        select(HandoffCard, OutboxItem.platform_ids)
        .join(OutboxItem, OutboxItem.id == HandoffCard.outbox_id)
        .where(
            HandoffCard.message_id.is_(None),
            HandoffCard.state == "open",
            OutboxItem.status == "sent",
        )
        .limit(200)
    )
    n = 0
    for card, ids in (await session.execute(stmt)).all():
        if ids:
            card.message_id = str(ids[0])
            n += 1
    return n


async def counts_by_state(session: AsyncSession) -> dict[str, int]:
    rows = (
        await session.execute(
            select(HandoffRequest.status, func.count()).group_by(HandoffRequest.status)
        )
    ).all()
    counts = {QUEUED: 0, ACTIVE: 0, CLOSED: 0}
    for status, n in rows:
        counts[str(status)] = int(n)
    return counts


def seal_details(keyring: KeyRing, area: str, topic: str | None) -> str:
    return keyring.seal_json({"area": area, "topic": topic})


def open_details(keyring: KeyRing, request: HandoffRequest) -> tuple[str, str | None]:
    data = keyring.open_json(request.details_enc)
    topic = data.get("topic")
    return str(data.get("area") or ""), (str(topic) if topic else None)


async def first_time(
    session: AsyncSession, db: Database, chat_key: str, message_id: str | None, now: datetime
) -> bool:
    """Record a team update's platform id; False if it was handled before."""
    if not message_id:
        return True
    ref = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32]
    stmt = db.insert(HandoffSeen).values(chat_key=chat_key, ref=ref, created_at=now)
    result = await session.execute(stmt.on_conflict_do_nothing(index_elements=["chat_key", "ref"]))
    return bool(getattr(result, "rowcount", 0))

"""Every query and write of the handoff tables: the other modules of
``handoff/`` decide, this one talks SQL.

Every state change of a request is a conditional ``UPDATE ... WHERE status=...``
whose row count says whether this caller won: the database, not process
memory, decides between two members pressing Take at once or two processes
running the same timer (docs/design.md, promise 10 and Scale).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import KeyRing
from bot.store.db import Database
from bot.store.models import DailyCount, OutboxItem, User
from handoff.models import (
    ACTIVE,
    CLOSED,
    OPEN_STATES,
    QUEUED,
    HandoffAudit,
    HandoffCard,
    HandoffConsent,
    HandoffCopy,
    HandoffDuty,
    HandoffMessage,
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


async def request_by_id(session: AsyncSession, request_id: int) -> HandoffRequest | None:
    return await session.get(HandoffRequest, request_id)


async def locked_request(
    session: AsyncSession, db: Database, request_id: int
) -> HandoffRequest | None:
    """The request, locked for this transaction; None if it is gone (erased,
    purged) — also when it was deleted while this call waited for the lock."""
    stmt = db.for_update(select(HandoffRequest).where(HandoffRequest.id == request_id))
    return (await session.scalars(stmt.execution_options(populate_existing=True))).first()


async def user_of(session: AsyncSession, request: HandoffRequest) -> User | None:
    """The person who asked; None once she is erased or purged."""
    return await session.get(User, request.user_key)


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


async def audit_team(
    session: AsyncSession, at: datetime, event: str, team_id: str, member_alias: str
) -> None:
    """A team event with no request (on duty, off duty)."""
    session.add(
        HandoffAudit(
            at=at, event=event, request_alias="-", team_id=team_id, member_alias=member_alias
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


# ---- consent -----------------------------------------------------------------


def add_consent(
    session: AsyncSession,
    user_key: str,
    *,
    version: str,
    language: str,
    node: str | None,
    at: datetime,
) -> None:
    session.add(
        HandoffConsent(
            user_key=user_key,
            text_version=version[:64],
            language=language[:5],
            node=node[:64] if node else None,
            created_at=at,
        )
    )


async def has_consent(session: AsyncSession, user_key: str) -> bool:
    found = await session.scalar(
        select(HandoffConsent.id)
        .where(HandoffConsent.user_key == user_key, HandoffConsent.withdrawn_at.is_(None))
        .limit(1)
    )
    return found is not None


async def withdraw_consents(session: AsyncSession, user_key: str, at: datetime) -> None:
    await session.execute(
        update(HandoffConsent)
        .where(HandoffConsent.user_key == user_key, HandoffConsent.withdrawn_at.is_(None))
        .values(withdrawn_at=at)
        .execution_options(synchronize_session=False)
    )


# ---- erase and retention -------------------------------------------------------


async def requests_of_user(session: AsyncSession, user_key: str) -> list[HandoffRequest]:
    """Her requests, locked (erase): the request row is always locked before
    its outbox rows, cards and transcript, whoever works on it."""
    stmt = (
        select(HandoffRequest)
        .where(HandoffRequest.user_key == user_key)
        .order_by(HandoffRequest.id)
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())


async def drop_outbox_of_request(session: AsyncSession, request_id: int) -> int:
    """Every outbox row of a request (``ref`` = ho:<id>:...), whatever its
    status: sent relays still hold her words, sealed, until the purge."""
    result = await session.execute(
        delete(OutboxItem).where(OutboxItem.ref.like(f"ho:{int(request_id)}:%"))
    )
    return _rowcount(result)


async def delete_transcript(session: AsyncSession, request_id: int) -> int:
    """Her words, the member's and the team's notes for one request."""
    result = await session.execute(
        delete(HandoffMessage).where(HandoffMessage.request_id == request_id)
    )
    return _rowcount(result)


async def all_cards(session: AsyncSession, request_id: int) -> list[HandoffCard]:
    stmt = select(HandoffCard).where(HandoffCard.request_id == request_id)
    return list((await session.scalars(stmt)).all())


# ---- copies in team members' chats ------------------------------------------------


def add_copy(
    session: AsyncSession,
    request_id: int,
    channel: str,
    address_enc: str,
    ids_enc: str,
    at: datetime,
) -> None:
    session.add(
        HandoffCopy(
            request_id=request_id,
            channel=channel,
            address_enc=address_enc,
            ids_enc=ids_enc,
            created_at=at,
        )
    )


async def take_copies(session: AsyncSession, request_id: int) -> list[HandoffCopy]:
    """The request's recorded copies, deleted from the table as they are read."""
    rows = list(
        (
            await session.scalars(
                select(HandoffCopy)
                .where(HandoffCopy.request_id == request_id)
                .order_by(HandoffCopy.id)
            )
        ).all()
    )
    if rows:
        await session.execute(delete(HandoffCopy).where(HandoffCopy.request_id == request_id))
    return rows


async def due_wipes(
    session: AsyncSession, db: Database, cutoff: datetime, limit: int
) -> list[HandoffRequest]:
    """Closed before ``cutoff`` and not wiped yet; locked rows are skipped
    (another process is wiping them)."""
    due = select(HandoffRequest).where(
        HandoffRequest.status == CLOSED,
        HandoffRequest.wiped_at.is_(None),
        HandoffRequest.closed_at <= cutoff,
    )
    due = db.for_update(due.order_by(HandoffRequest.id).limit(limit), skip_locked=True)
    return list((await session.scalars(due)).all())


async def delete_requests(session: AsyncSession, ids: list[int]) -> int:
    """Requests with their transcripts and cards; returns transcript + request rows."""
    if not ids:
        return 0
    n = _rowcount(
        await session.execute(delete(HandoffMessage).where(HandoffMessage.request_id.in_(ids)))
    )
    await session.execute(delete(HandoffCard).where(HandoffCard.request_id.in_(ids)))
    await session.execute(delete(HandoffCopy).where(HandoffCopy.request_id.in_(ids)))
    n += _rowcount(await session.execute(delete(HandoffRequest).where(HandoffRequest.id.in_(ids))))
    return n


async def delete_consents(session: AsyncSession, user_key: str) -> None:
    await session.execute(delete(HandoffConsent).where(HandoffConsent.user_key == user_key))


async def purge(session: AsyncSession, cutoff: datetime, seen_cutoff: datetime) -> int:
    """Closed chats before ``cutoff``; consents withdrawn before it or of people
    gone since; team update ids before ``seen_cutoff``. Returns rows deleted
    (transcripts, requests, consents)."""
    # Requests are locked first, as the timers, the copy wipe and erase lock
    # them first: one order, so no deadlock on PostgreSQL (a request being
    # wiped right now is waited for, then purged).
    old = (
        select(HandoffRequest.id)
        .where(HandoffRequest.status == CLOSED, HandoffRequest.closed_at < cutoff)
        .order_by(HandoffRequest.id)
        .with_for_update()
    )
    n = await delete_requests(session, list((await session.scalars(old)).all()))
    await session.execute(delete(HandoffSeen).where(HandoffSeen.created_at < seen_cutoff))
    gone = HandoffConsent.user_key.not_in(select(User.key))
    n += _rowcount(
        await session.execute(
            delete(HandoffConsent).where(
                (HandoffConsent.withdrawn_at < cutoff)
                | ((HandoffConsent.created_at < cutoff) & gone)
            )
        )
    )
    return n


async def users_in_open_chats(session: AsyncSession) -> set[str]:
    rows = await session.scalars(
        select(HandoffRequest.user_key).where(HandoffRequest.status.in_(OPEN_STATES))
    )
    return set(rows.all())


# ---- transcript -----------------------------------------------------------------


def add_message(
    session: AsyncSession,
    request: HandoffRequest,
    kind: str,
    body_enc: str,
    *,
    at: datetime,
    delivered: bool = True,
) -> None:
    session.add(
        HandoffMessage(
            request_id=request.id, kind=kind, body_enc=body_enc, created_at=at, delivered=delivered
        )
    )


async def held_messages(session: AsyncSession, request_id: int) -> list[HandoffMessage]:
    """Her messages written while the request waited, oldest first."""
    stmt = (
        select(HandoffMessage)
        .where(
            HandoffMessage.request_id == request_id,
            HandoffMessage.delivered.is_(False),
            HandoffMessage.kind == "user",
        )
        .order_by(HandoffMessage.id)
    )
    return list((await session.scalars(stmt)).all())


# ---- cards and the team side ------------------------------------------------------


def add_card(
    session: AsyncSession,
    request: HandoffRequest,
    team_id: str,
    channel: str,
    address_enc: str,
    outbox_id: int,
    at: datetime,
) -> None:
    session.add(
        HandoffCard(
            request_id=request.id,
            team_id=team_id,
            channel=channel,
            address_enc=address_enc,
            outbox_id=outbox_id,
            state="open",
            created_at=at,
        )
    )


async def sent_refs(
    session: AsyncSession, member_keys: list[str], limit: int
) -> list[tuple[str | None, list[str] | None]]:
    """(ref, platform ids) of the latest handoff messages delivered to a member."""
    rows = await session.execute(
        select(OutboxItem.ref, OutboxItem.platform_ids)
        .where(
            OutboxItem.recipient.in_(member_keys),
            OutboxItem.ref.like("ho:%"),
            OutboxItem.status == "sent",
        )
        .order_by(OutboxItem.id.desc())
        .limit(limit)
    )
    return [(r, ids) for r, ids in rows.all()]


async def queued_count(session: AsyncSession, team_ids: list[str]) -> int:
    n = await session.scalar(
        select(func.count(HandoffRequest.id)).where(
            HandoffRequest.status == QUEUED,
            HandoffRequest.team_id.in_(team_ids),
            HandoffRequest.intake_step.is_(None),
        )
    )
    return int(n or 0)


# ---- timers -------------------------------------------------------------------------


def not_reminded_since_activity() -> ColumnElement[bool]:
    """No idle reminder yet in the current quiet spell."""
    return or_(
        HandoffRequest.reminded_at.is_(None),
        HandoffRequest.reminded_at < HandoffRequest.last_activity_at,
    )


async def due_escalations(
    session: AsyncSession, db: Database, cutoff: datetime, limit: int
) -> list[HandoffRequest]:
    """Queued since before ``cutoff`` and not escalated; locked rows are skipped
    (another process is escalating them)."""
    due = select(HandoffRequest).where(
        HandoffRequest.status == QUEUED,
        HandoffRequest.escalated_at.is_(None),
        HandoffRequest.intake_step.is_(None),
        HandoffRequest.queued_at <= cutoff,
    )
    due = db.for_update(due.order_by(HandoffRequest.id).limit(limit), skip_locked=True)
    return list((await session.scalars(due)).all())


async def due_reminders(
    session: AsyncSession, db: Database, cutoff: datetime, limit: int
) -> list[HandoffRequest]:
    """Open chats quiet since before ``cutoff`` and not reminded in this spell."""
    due = select(HandoffRequest).where(
        HandoffRequest.status == ACTIVE,
        HandoffRequest.last_activity_at <= cutoff,
        not_reminded_since_activity(),
    )
    due = db.for_update(due.order_by(HandoffRequest.id).limit(limit), skip_locked=True)
    return list((await session.scalars(due)).all())


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# ---- limits and the queue view -------------------------------------------------------


async def requests_of_user_since(session: AsyncSession, user_key: str, since: datetime) -> int:
    """How many requests she made since ``since`` (open or closed)."""
    n = await session.scalar(
        select(func.count(HandoffRequest.id)).where(
            HandoffRequest.user_key == user_key, HandoffRequest.created_at >= since
        )
    )
    return int(n or 0)


async def requests_since(session: AsyncSession, since: datetime) -> int:
    """New requests from everybody since ``since``: the flood gauge."""
    n = await session.scalar(
        select(func.count(HandoffRequest.id)).where(HandoffRequest.created_at >= since)
    )
    return int(n or 0)


async def held_count(session: AsyncSession, request_id: int) -> int:
    """Her messages held for the team while the request waits."""
    n = await session.scalar(
        select(func.count(HandoffMessage.id)).where(
            HandoffMessage.request_id == request_id,
            HandoffMessage.delivered.is_(False),
            HandoffMessage.kind == "user",
        )
    )
    return int(n or 0)


def _queue_of(team_ids: list[str]) -> ColumnElement[bool]:
    """Her teams' waiting requests whose cards are out (not still asking her
    the questions before connecting)."""
    return (
        (HandoffRequest.status == QUEUED)
        & HandoffRequest.intake_step.is_(None)
        & or_(HandoffRequest.team_id.in_(team_ids), HandoffRequest.original_team_id.in_(team_ids))
    )


async def queue_page(
    session: AsyncSession, team_ids: list[str], offset: int, limit: int
) -> tuple[list[HandoffRequest], int]:
    """One page of the teams' queue, longest waiting first, and the whole count:
    a request that arrives after a flood is still counted and reachable."""
    total = await session.scalar(select(func.count(HandoffRequest.id)).where(_queue_of(team_ids)))
    rows = await session.scalars(
        select(HandoffRequest)
        .where(_queue_of(team_ids))
        .order_by(HandoffRequest.queued_at, HandoffRequest.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total or 0)


# ---- duty, queue and transfer -------------------------------------------------------


async def duty_rows(session: AsyncSession, team_id: str) -> dict[str, bool]:
    """member alias → on duty, for members who ever said /on or /off."""
    rows = await session.execute(
        select(HandoffDuty.member_alias, HandoffDuty.on_duty).where(HandoffDuty.team_id == team_id)
    )
    return {str(alias): bool(on) for alias, on in rows.all()}


async def set_duty(
    session: AsyncSession, db: Database, team_id: str, member_alias: str, on: bool, at: datetime
) -> None:
    stmt = db.insert(HandoffDuty).values(
        team_id=team_id, member_alias=member_alias, on_duty=on, changed_at=at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["team_id", "member_alias"], set_={"on_duty": on, "changed_at": at}
        )
    )


async def queue_position(session: AsyncSession, request: HandoffRequest) -> int:
    """1 for the first in her team's queue: requests of the same team queued
    before hers (oldest are shown first on every channel)."""
    ahead = await session.scalar(
        select(func.count(HandoffRequest.id)).where(
            HandoffRequest.status == QUEUED,
            HandoffRequest.team_id == request.team_id,
            HandoffRequest.intake_step.is_(None),
            or_(
                HandoffRequest.queued_at < request.queued_at,
                (HandoffRequest.queued_at == request.queued_at) & (HandoffRequest.id < request.id),
            ),
        )
    )
    return int(ahead or 0) + 1


async def claim_buckets(
    session: AsyncSession, team_id: str, since_day: str
) -> list[tuple[str, int]]:
    """(bucket upper bound in seconds or "more", count) of the team's claims
    since ``since_day``, from the daily statistics (counts, no person)."""
    rows = await session.execute(
        select(DailyCount.label, func.sum(DailyCount.count))
        .where(
            DailyCount.metric == "claim_seconds",
            DailyCount.day >= since_day,
            DailyCount.label.like(f"{team_id}|%"),
        )
        .group_by(DailyCount.label)
    )
    prefix = f"{team_id}|"  # "_" in a team id is a LIKE wildcard: check exactly
    return [
        (str(label).removeprefix(prefix), int(n or 0))
        for label, n in rows.all()
        if str(label).startswith(prefix)
    ]


async def transcript(session: AsyncSession, request_id: int) -> list[HandoffMessage]:
    """Her and the team's messages of a request, oldest first (no notes)."""
    stmt = (
        select(HandoffMessage)
        .where(HandoffMessage.request_id == request_id, HandoffMessage.kind != "note")
        .order_by(HandoffMessage.id)
    )
    return list((await session.scalars(stmt)).all())


async def due_intakes(
    session: AsyncSession, db: Database, cutoff: datetime, limit: int
) -> list[HandoffRequest]:
    """Requests whose questions before connecting were not answered in time."""
    due = select(HandoffRequest).where(
        HandoffRequest.status == QUEUED,
        HandoffRequest.intake_step.is_not(None),
        HandoffRequest.created_at <= cutoff,
    )
    due = db.for_update(due.order_by(HandoffRequest.id).limit(limit), skip_locked=True)
    return list((await session.scalars(due)).all())


async def open_request_by_alias(session: AsyncSession, alias: str) -> HandoffRequest | None:
    stmt = select(HandoffRequest).where(
        HandoffRequest.alias == normalise_alias(alias), HandoffRequest.status != CLOSED
    )
    return (await session.scalars(stmt)).first()

"""Finding, creating and forgetting people: always by pseudonym, under a row lock."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import KeyRing, address_context
from bot.store.db import Database
from bot.store.models import MessageRef, OutboxItem, User, WebPending, WebSession

#: How many recent message ids per person are kept for deduplication.
RECENT_REFS = 64


async def load_user(
    session: AsyncSession,
    db: Database,
    keyring: KeyRing,
    channel: str,
    address: str,
    now: datetime,
) -> tuple[User, bool]:
    """The person's row, locked for this transaction; created on first contact.

    Returns (user, is_new). A person first seen under an older secret keeps her
    pseudonym; only her sealed address is re-sealed with the current key.
    """
    keys = keyring.candidate_user_keys(channel, address)
    found = await _locked(session, db, keys)
    if found is None:
        insert = db.insert(User).values(
            key=keys[0],
            channel=channel,
            address_enc=keyring.seal(address, address_context(keys[0])),
            language="vi",
            state={},
            discreet=None,
            recent_refs=[],
            created_at=now,
            last_seen_at=now,
        )
        result = await session.execute(insert.on_conflict_do_nothing(index_elements=["key"]))
        is_new = bool(getattr(result, "rowcount", 0))
        found = await _locked(session, db, keys)
        assert found is not None, "the row was just inserted"
    else:
        is_new = False
        if keyring.needs_reseal(found.address_enc):
            found.address_enc = keyring.seal(address, address_context(found.key))
    found.last_seen_at = now
    return found, is_new


async def _locked(session: AsyncSession, db: Database, keys: list[str]) -> User | None:
    stmt = db.for_update(select(User).where(User.key.in_(keys)))
    users: dict[str, User] = {
        u.key: u
        for u in (await session.scalars(stmt.execution_options(populate_existing=True))).all()
    }
    for key in keys:
        if key in users:
            return users[key]
    return None


def seen_before(user: User, message_id: str | None) -> bool:
    """True if this platform message id was handled already (a redelivery);
    otherwise remember it. Runs under the user's row lock."""
    if not message_id:
        return False
    ref = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:16]
    recent = list(user.recent_refs or [])
    if ref in recent:
        return True
    user.recent_refs = [*recent[-(RECENT_REFS - 1) :], ref]
    return False


async def any_known(session: AsyncSession, user_keys: list[str]) -> bool:
    """True if a person is stored under one of these pseudonyms."""
    found = await session.scalar(select(User.key).where(User.key.in_(user_keys)).limit(1))
    return found is not None


async def forget(session: AsyncSession, user_keys: list[str]) -> None:
    """Delete every bot-path row about a person (erase): her row, her chat's
    message ids, every outbox row to her whatever its status, and what waits
    for her browser."""
    await session.execute(delete(User).where(User.key.in_(user_keys)))
    await session.execute(delete(MessageRef).where(MessageRef.user_key.in_(user_keys)))
    await session.execute(delete(OutboxItem).where(OutboxItem.recipient.in_(user_keys)))
    await session.execute(delete(WebPending).where(WebPending.user_key.in_(user_keys)))
    # Her web chat session too: the next connection starts a fresh one.
    await session.execute(delete(WebSession).where(WebSession.user_key.in_(user_keys)))


async def remember_message_ids(
    session: AsyncSession, user_key: str, ids: list[str], now: datetime
) -> None:
    for mid in ids:
        session.add(
            MessageRef(user_key=user_key, platform_message_id=str(mid)[:64], created_at=now)
        )


async def recent_message_ids(session: AsyncSession, user_key: str, since: datetime) -> list[str]:
    rows = await session.scalars(
        select(MessageRef.platform_message_id)
        .where(MessageRef.user_key == user_key, MessageRef.created_at >= since)
        .order_by(MessageRef.id)
    )
    return list(rows)

"""Web chat sessions the server issued (``web_sessions``).

A token is 32 random bytes the browser holds (an HttpOnly cookie, or the
embedded page's memory); the table keeps its SHA-256 only. A plain hash is
enough: nobody can guess 256 random bits, and unlike a keyed hash it survives
a key rotation. Lookups never adopt a token: an unknown or expired one finds
nothing and the caller issues a fresh session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import KeyRing
from bot.messages import utcnow
from bot.store.models import WebSession

#: A session not used for this long is gone: the next visit starts afresh.
SESSION_IDLE = timedelta(hours=24)
#: Tokens are 43 url-safe characters; anything far from that is not ours.
TOKEN_MIN, TOKEN_MAX = 20, 100


@dataclass(frozen=True)
class Issued:
    """A live session: the engine's address for her and the browser's token."""

    id: int
    address: str
    token: str


def address_context(session_id: int) -> str:
    """The sealed address is bound to its row: copied into another row, it
    does not open (the row id survives token and key rotation)."""
    return f"web_sessions.address_enc:{session_id}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def issue(session: AsyncSession, keyring: KeyRing, channel: str, now: datetime) -> Issued:
    """A fresh session under a fresh address, never one the client named."""
    address = secrets.token_urlsafe(32)
    token = new_token()
    row = WebSession(
        token_hash=token_hash(token),
        user_key=keyring.user_key(channel, address),
        address_enc="",
        created_at=now,
        expires_at=now + SESSION_IDLE,
    )
    session.add(row)
    await session.flush()
    row.address_enc = keyring.seal(address, address_context(row.id))
    return Issued(row.id, address, token)


async def find(
    session: AsyncSession, keyring: KeyRing, token: str | None, now: datetime
) -> Issued | None:
    """The live session this token was issued for, its expiry pushed back;
    None for a token we never issued, one rotated away, or one expired."""
    if not token or not TOKEN_MIN <= len(token) <= TOKEN_MAX:
        return None
    row = await session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None or row.expires_at <= now:
        return None
    if row.expires_at - now < SESSION_IDLE - timedelta(minutes=5):
        row.expires_at = now + SESSION_IDLE  # one write per few minutes, not per message
    return Issued(row.id, keyring.open(row.address_enc, address_context(row.id)), token)


async def rotate(session: AsyncSession, session_id: int) -> str | None:
    """A new token for the same session: the old one stops working at once.
    None if the session is gone (quick exit, erase)."""
    token = new_token()
    result = await session.execute(
        update(WebSession).where(WebSession.id == session_id).values(token_hash=token_hash(token))
    )
    return token if getattr(result, "rowcount", 0) else None


async def end(session: AsyncSession, token: str) -> None:
    """Quick exit: the token opens nothing any more."""
    await session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


async def end_for_user(session: AsyncSession, user_key: str) -> None:
    """Erase: every session of hers is gone."""
    await session.execute(delete(WebSession).where(WebSession.user_key == user_key))


async def purge_web_sessions(session: AsyncSession, retention: timedelta) -> int:
    """Retention hook: sessions past their expiry."""
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)

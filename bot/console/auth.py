"""Team console accounts, sessions, CSRF and lockout, all in the database so
that they hold across processes and restarts.

- Passwords are hashed with argon2id (``argon2-cffi``); the hash is checked in
  a worker thread so a login does not stall the event loop.
- A session is a random cookie (HttpOnly, SameSite=Strict, path ``/team``);
  the database keeps only its SHA-256, the login and the session's CSRF token.
- After ``MAX_FAILURES`` wrong passwords for one login name within
  ``LOCKOUT``, that name is locked for ``LOCKOUT`` — even the right password is
  refused until then. The name is stored hashed: people type passwords into
  the login field by mistake.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.models import ConsoleAccount, ConsoleLoginFailure, ConsoleSession
from bot.messages import utcnow
from bot.store.db import Database

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 10
LOGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

_hasher = PasswordHasher()
#: Verified against when the login does not exist, so both cases take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PasswordError(ValueError):
    """The password is too weak or the login is malformed (message for the CLI)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def check_login_name(login: str) -> str:
    if not LOGIN_RE.match(login):
        raise PasswordError("the login may use letters, digits and . _ @ - (at most 64)")
    return login


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise PasswordError("the password is too long")


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


async def set_password(db: Database, login: str, password: str, *, check: bool = True) -> None:
    """Create or update an account. ``check=False`` only for the generated demo password."""
    check_login_name(login)
    if check:
        check_password_strength(password)
    hashed = await asyncio.to_thread(hash_password, password)
    now = utcnow()
    async with db.transaction() as session:
        account = await session.get(ConsoleAccount, login)
        if account is None:
            session.add(
                ConsoleAccount(login=login, password_hash=hashed, created_at=now, updated_at=now)
            )
        else:
            account.password_hash = hashed
            account.updated_at = now
        # A new password ends every session of that login.
        await session.execute(delete(ConsoleSession).where(ConsoleSession.login == login))
        await session.execute(
            delete(ConsoleLoginFailure).where(
                ConsoleLoginFailure.login_hash == _sha(login.casefold())
            )
        )


async def has_account(db: Database, login: str) -> bool:
    async with db.transaction() as session:
        return await session.get(ConsoleAccount, login) is not None


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    locked_until: datetime | None = None


async def authenticate(db: Database, login: str, password: str) -> LoginResult:
    """Check a login; count failures and lock the name after too many."""
    login = login.strip()[:64]
    name_hash = _sha(login.casefold())
    now = utcnow()
    async with db.transaction() as session:
        failure = await session.get(ConsoleLoginFailure, name_hash)
        if failure is not None and failure.locked_until is not None and failure.locked_until > now:
            return LoginResult(False, failure.locked_until)
        account = await session.get(ConsoleAccount, login) if login else None
        stored = account.password_hash if account is not None else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, stored, password) and account is not None
    async with db.transaction() as session:
        if ok:
            await session.execute(
                delete(ConsoleLoginFailure).where(ConsoleLoginFailure.login_hash == name_hash)
            )
            if account is not None and _hasher.check_needs_rehash(stored):
                fresh = await session.get(ConsoleAccount, login)
                if fresh is not None:
                    fresh.password_hash = await asyncio.to_thread(hash_password, password)
            return LoginResult(True)
        return LoginResult(False, await _count_failure(db, session, name_hash, now))


async def _count_failure(
    db: Database, session: AsyncSession, name_hash: str, now: datetime
) -> datetime | None:
    stmt = db.insert(ConsoleLoginFailure).values(
        login_hash=name_hash, failures=0, first_failure_at=now, locked_until=None
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["login_hash"]))
    row = await session.scalar(
        db.for_update(
            select(ConsoleLoginFailure).where(ConsoleLoginFailure.login_hash == name_hash)
        )
    )
    assert row is not None
    if row.first_failure_at < now - LOCKOUT or (
        row.locked_until is not None and row.locked_until <= now
    ):
        row.failures, row.first_failure_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= MAX_FAILURES:
        row.locked_until = now + LOCKOUT
    locked: datetime | None = row.locked_until
    return locked


@dataclass(frozen=True, slots=True)
class SessionInfo:
    login: str
    csrf: str


async def create_session(db: Database, login: str) -> tuple[str, SessionInfo]:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    async with db.transaction() as session:
        session.add(
            ConsoleSession(
                token_hash=_sha(token),
                login=login,
                csrf=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    return token, SessionInfo(login, csrf)


async def load_session(db: Database, token: str | None) -> SessionInfo | None:
    if not token or len(token) > 100:
        return None
    async with db.transaction() as session:
        row = await session.get(ConsoleSession, _sha(token))
        if row is None or row.expires_at <= utcnow():
            return None
        return SessionInfo(row.login, row.csrf)


async def end_session(db: Database, token: str | None) -> None:
    if not token:
        return
    async with db.transaction() as session:
        await session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == _sha(token))
        )


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())

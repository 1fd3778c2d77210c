"""Team console accounts, sessions, CSRF and lockout, all in the database so
that they hold across processes and restarts.

- Passwords are hashed with argon2id (``argon2-cffi``); the hash is checked in
  a worker thread so a login does not stall the event loop.
- A session is a random cookie (HttpOnly, SameSite=Strict, path ``/team``);
  the database keeps only its SHA-256, the login and the session's CSRF token.
- After ``MAX_FAILURES`` wrong passwords for one login name from one source
  (a keyed digest of the client IP) within ``LOCKOUT``, that name is locked for
  ``LOCKOUT`` from that source — even the right password is refused there. The
  member, elsewhere, still logs in: one machine cannot keep her out. Over every
  source, ``GLOBAL_FAILURES`` within ``GLOBAL_WINDOW`` lock the name everywhere
  for ``GLOBAL_LOCKOUT`` (a distributed guesser); one source alone cannot
  reach that, because of its own lockout and the per-IP throttle. The name is
  stored hashed: people type passwords into the login field by mistake.
- :class:`LoginThrottle` (in memory, per process) caps attempts per IP and
  the argon2 hashes running at once (64 MiB each); excess attempts are answered
  429 at once, before any hashing. The IP is held only as a keyed digest.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.models import ConsoleAccount, ConsoleLoginFailure, ConsoleSession
from bot.messages import utcnow
from bot.store.db import Database

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
GLOBAL_FAILURES = 50
GLOBAL_WINDOW = timedelta(hours=1)
GLOBAL_LOCKOUT = timedelta(hours=1)
#: Login attempts one IP may make per ``ATTEMPT_WINDOW`` seconds (each process).
ATTEMPTS_PER_IP = 10
ATTEMPT_WINDOW = 60.0
#: An IP over its allowance waits this long, doubled each time again (capped).
BLOCK_BASE = 60.0
BLOCK_MAX = 3600.0
#: argon2 hashes at once (each takes 64 MiB and a core for a while).
MAX_HASHING = 2
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


def _failure_key(login: str, source: str) -> str:
    return _sha(f"{login.casefold()}|{source}")


GLOBAL_SOURCE = "*"


async def set_password(
    db: Database,
    login: str,
    password: str,
    *,
    check: bool = True,
    coordinator: bool | None = None,
) -> None:
    """Create or update an account. ``check=False`` only for the generated demo
    password; ``coordinator`` sets or clears the flag (None keeps it)."""
    check_login_name(login)
    if check:
        check_password_strength(password)
    hashed = await asyncio.to_thread(hash_password, password)
    now = utcnow()
    async with db.transaction() as session:
        account = await session.get(ConsoleAccount, login)
        if account is None:
            account = ConsoleAccount(
                login=login,
                password_hash=hashed,
                created_at=now,
                updated_at=now,
                coordinator=bool(coordinator),
            )
            session.add(account)
        else:
            account.password_hash = hashed
            account.updated_at = now
            if coordinator is not None:
                account.coordinator = coordinator
        # A new password ends every session of that login and clears its lockouts.
        await session.execute(delete(ConsoleSession).where(ConsoleSession.login == login))
        await session.execute(
            delete(ConsoleLoginFailure).where(
                ConsoleLoginFailure.login_ref == _sha(login.casefold())
            )
        )


async def is_coordinator(db: Database, login: str) -> bool:
    async with db.transaction() as session:
        account = await session.get(ConsoleAccount, login)
        return bool(account is not None and account.coordinator)


async def remove_account(db: Database, login: str) -> bool:
    """Delete an account and its sessions (e.g. the demo account outside demo mode)."""
    async with db.transaction() as session:
        await session.execute(delete(ConsoleSession).where(ConsoleSession.login == login))
        result = await session.execute(delete(ConsoleAccount).where(ConsoleAccount.login == login))
        return bool(getattr(result, "rowcount", 0))


async def has_account(db: Database, login: str) -> bool:
    async with db.transaction() as session:
        return await session.get(ConsoleAccount, login) is not None


@dataclass(frozen=True, slots=True)
class LoginResult:
    ok: bool
    locked_until: datetime | None = None


async def authenticate(db: Database, login: str, password: str, source: str = "") -> LoginResult:
    """Check a login; count failures per (login, source) and per login overall,
    and lock after too many. ``source`` is a keyed digest of the client's IP."""
    login = login.strip()[:64]
    name_ref = _sha(login.casefold())
    keys = (_failure_key(login, source), _failure_key(login, GLOBAL_SOURCE))
    now = utcnow()
    async with db.transaction() as session:
        for key in keys:
            failure = await session.get(ConsoleLoginFailure, key)
            if failure is not None and failure.locked_until is not None:
                if failure.locked_until > now:
                    return LoginResult(False, failure.locked_until)
        account = await session.get(ConsoleAccount, login) if login else None
        stored = account.password_hash if account is not None else _DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, stored, password) and account is not None
    async with db.transaction() as session:
        if ok:
            await session.execute(
                delete(ConsoleLoginFailure).where(ConsoleLoginFailure.login_hash == keys[0])
            )
            if account is not None and _hasher.check_needs_rehash(stored):
                fresh = await session.get(ConsoleAccount, login)
                if fresh is not None:
                    fresh.password_hash = await asyncio.to_thread(hash_password, password)
            return LoginResult(True)
        here = await _count_failure(
            db, session, keys[0], name_ref, now, limit=MAX_FAILURES, window=LOCKOUT, lock=LOCKOUT
        )
        everywhere = await _count_failure(
            db,
            session,
            keys[1],
            name_ref,
            now,
            limit=GLOBAL_FAILURES,
            window=GLOBAL_WINDOW,
            lock=GLOBAL_LOCKOUT,
        )
        return LoginResult(False, max((t for t in (here, everywhere) if t), default=None))


async def _count_failure(
    db: Database,
    session: AsyncSession,
    key: str,
    name_ref: str,
    now: datetime,
    *,
    limit: int,
    window: timedelta,
    lock: timedelta,
) -> datetime | None:
    stmt = db.insert(ConsoleLoginFailure).values(
        login_hash=key, login_ref=name_ref, failures=0, first_failure_at=now, locked_until=None
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["login_hash"]))
    row = await session.scalar(
        db.for_update(select(ConsoleLoginFailure).where(ConsoleLoginFailure.login_hash == key))
    )
    assert row is not None
    if row.first_failure_at < now - window or (
        row.locked_until is not None and row.locked_until <= now
    ):
        row.failures, row.first_failure_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + lock
    locked: datetime | None = row.locked_until
    return locked


@dataclass
class _Source:
    attempts: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0
    strikes: int = 0
    last_strike: float = 0.0


class LoginThrottle:
    """Per-process limits in front of the password check.

    - an IP may try ``ATTEMPTS_PER_IP`` times per ``ATTEMPT_WINDOW``; beyond
      that it is refused for ``BLOCK_BASE`` seconds, doubled at each repeat
      within an hour (up to ``BLOCK_MAX``);
    - at most ``MAX_HASHING`` argon2 checks run at once; one more is refused
      at once rather than queued, so a flood cannot take the memory or the
      cores the bot needs to answer people.

    IPs are kept only as an HMAC under a key made at start and never written.
    """

    def __init__(
        self,
        *,
        per_ip: int = ATTEMPTS_PER_IP,
        window: float = ATTEMPT_WINDOW,
        hashing: int = MAX_HASHING,
        clock: Any = time.monotonic,
    ) -> None:
        self.per_ip = per_ip
        self.window = window
        self.clock = clock
        self.hashing = asyncio.Semaphore(hashing)
        self._key = secrets.token_bytes(32)
        self._sources: dict[str, _Source] = {}

    def source_of(self, ip: str) -> str:
        return hmac.new(self._key, ip.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def check(self, ip: str) -> float | None:
        """Count an attempt from ``ip``; seconds to wait if it is over its allowance."""
        now = self.clock()
        if len(self._sources) > 10_000:
            self._prune(now)
        source = self._sources.setdefault(self.source_of(ip), _Source())
        if source.blocked_until > now:
            return float(source.blocked_until - now)
        while source.attempts and source.attempts[0] <= now - self.window:
            source.attempts.popleft()
        if len(source.attempts) >= self.per_ip:
            if now - source.last_strike > BLOCK_MAX:
                source.strikes = 0
            source.strikes += 1
            source.last_strike = now
            source.blocked_until = now + min(BLOCK_BASE * 2 ** (source.strikes - 1), BLOCK_MAX)
            source.attempts.clear()
            return float(source.blocked_until - now)
        source.attempts.append(now)
        return None

    def busy(self) -> bool:
        """True when every hashing slot is taken."""
        return self.hashing.locked()

    def _prune(self, now: float) -> None:
        for name, source in list(self._sources.items()):
            idle = not source.attempts or source.attempts[-1] <= now - self.window
            if idle and source.blocked_until <= now and now - source.last_strike > BLOCK_MAX:
                del self._sources[name]


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

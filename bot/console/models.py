"""Tables of the team console (migration 0003; the web chat's ``web_pending``,
created by the same migration, lives in :mod:`bot.store.models`).

- ``console_accounts``: team console logins (the member's ``console_id`` in
  the teams file) with an argon2 hash, never a password;
- ``console_sessions``: server-side sessions; only a SHA-256 of the cookie is
  stored, so a copy of the database does not let anyone log in;
- ``console_login_failures``: failed logins per login name and source (hashed),
  for the lockout that holds across processes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base


class ConsoleAccount(Base):
    __tablename__ = "console_accounts"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: May see every team's statistics (members see their own teams' only).
    coordinator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ConsoleLoginFailure(Base):
    __tablename__ = "console_login_failures"

    #: SHA-256 of the casefolded login name that was typed (it may be a typo'd
    #: password) with the source it came from (a keyed digest of the IP), or "*"
    #: for the login's count over every source.
    login_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: SHA-256 of the casefolded login alone: finds every row of a login.
    login_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)

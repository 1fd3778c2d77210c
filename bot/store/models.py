"""Tables of the bot path. Privacy from the first table (docs/design.md, Promises):

- people are stored under a keyed pseudonym (``users.key``), never a platform id;
- the address needed to reply is sealed (``address_enc``, key id inside);
- no message text is stored on the bot path; relay payloads in the outbox are sealed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, MetaData, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class User(Base):
    """A person talking to the bot on one channel, known only by pseudonym."""

    __tablename__ = "users"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address_enc: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: None = not asked yet; True = later messages come silently with a neutral first line.
    discreet: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: Digests of her latest platform message ids: a redelivered update is
    #: answered once. Checked under the row lock, so it holds across processes.
    recent_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)


class MessageRef(Base):
    """Platform ids of messages in a person's chat (hers and the bot's), kept
    48 hours only so that erase can delete them from the chat itself."""

    __tablename__ = "message_refs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    platform_message_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


class OutboxItem(Base):
    """A message to someone other than the sender of the current update (team
    replies, relays, cards). Written in the same transaction as the decision
    that produced it, delivered afterwards, retried until sent or known
    undeliverable: a crash loses nothing."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: Pseudonym of the recipient: orders delivery per recipient and lets erase find rows.
    recipient: Mapped[str] = mapped_column(String(64))
    address_enc: Mapped[str] = mapped_column(Text)
    payload_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: What this message belongs to (e.g. "handoff:42"), for follow-ups such as card edits.
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    #: Platform ids the channel returned, for edits and erase.
    platform_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_recipient", "recipient", "id"),
        # Ids appear in refs: never reuse one after a delete (migration 0004).
        {"sqlite_autoincrement": True},
    )


class DailyCount(Base):
    """Counts for the programme's statistics: no personal data, only
    (day, metric, label) → count."""

    __tablename__ = "daily_counts"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class KeyValue(Base):
    """Small sealed values shared by all processes (e.g. Zalo OA tokens)."""

    __tablename__ = "kv"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_enc: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class WebPending(Base):
    """A message to a person on the web chat, sealed, with a sequence number,
    kept until her browser acknowledges it (replay after a network drop) and
    deleted on quick exit, erase or after a day (migration 0003)."""

    __tablename__ = "web_pending"

    #: The sequence number the browser sees and acknowledges.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Her pseudonym (the same HMAC as ``users.key`` for channel "web").
    user_key: Mapped[str] = mapped_column(String(64))
    payload_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        Index("ix_web_pending_user", "user_key", "seq"),
        # Never reuse a number once its row is deleted (SQLite would, without this).
        {"sqlite_autoincrement": True},
    )


class WebSession(Base):
    """A web chat session the server issued (migration 0005). The browser holds
    a random token; only its SHA-256 is kept, so a copy of the database opens
    no session. The address the engine knows her by is separate from the
    token and sealed, so the token can change (at consent, when a handoff
    starts) while her conversation stays hers."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: SHA-256 (hex) of the token in her cookie or her embedded page's memory.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Her pseudonym (``users.key`` for channel "web"): erase and quick exit find it.
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    #: The engine's address for her, sealed: never sent to the browser.
    address_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: Extended each time she connects; an expired token gets a fresh session.
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = ({"sqlite_autoincrement": True},)

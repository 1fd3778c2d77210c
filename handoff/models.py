"""Handoff tables, on the bot's declarative base (one metadata, one migration chain).

Privacy rules these tables follow (docs/design.md, Promises):

- she is referenced by her pseudonym (``users.key``) only; the area and topic
  she gave are sealed, since she may have typed anything there;
- the member is referenced by the pseudonym of the identity the bot writes to
  (``member_key``, same HMAC as users) plus the sealed address; the alias is the
  team's own label for its member and is shown to the team only;
- message texts exist only sealed in ``handoff_messages`` while a chat needs
  them, and are purged after the retention period or at once on erase;
- the audit log carries aliases, events and counts, never content or keys.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base

#: Request states. "queued" and "active" are open; "closed" is kept until purge.
QUEUED, ACTIVE, CLOSED = "queued", "active", "closed"
OPEN_STATES = (QUEUED, ACTIVE)


class HandoffConsent(Base):
    """She agreed to talk to a person: which consent text (its version hash),
    in which language, when. No content. ``withdrawn_at`` is set when she ends."""

    __tablename__ = "handoff_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    text_version: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5))
    node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None] = mapped_column(nullable=True)


class HandoffRequest(Base):
    """One request for a human, from queued to closed.

    ``status`` changes only through conditional updates (``WHERE status=...``),
    which is what makes a claim atomic on SQLite and PostgreSQL alike."""

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: What the team sees instead of her identity, e.g. "K7Q2" (shown as #K7Q2).
    alias: Mapped[str] = mapped_column(String(8))
    user_key: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(8), default=QUEUED)
    team_id: Mapped[str] = mapped_column(String(32))
    #: The team her area routed to, kept when the request is escalated.
    original_team_id: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(5))
    #: Sealed JSON {"area": ..., "topic": ...} as shown on the card.
    details_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: Waiting since (reset when a member gives the chat back).
    queued_at: Mapped[datetime] = mapped_column(index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    close_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    member_channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    member_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    member_address_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    member_alias: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_activity_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: A message to her failed for good (blocked, Zalo reply window): the member
    #: was told; cleared when she writes again.
    unreachable_since: Mapped[datetime | None] = mapped_column(nullable=True)
    from_user_count: Mapped[int] = mapped_column(Integer, default=0)
    from_member_count: Mapped[int] = mapped_column(Integer, default=0)
    #: When the copies in the member's chat were deleted and the transcript
    #: dropped (``HELPLINE_MEMBER_COPY_HOURS`` after closing); None until then.
    wiped_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Her voice notes in this chat: None = not asked yet, "asked", "text"
    #: (transcript only) or "voice" (the audio goes on too). Migration 0008.
    voice_choice: Mapped[str | None] = mapped_column(String(8), nullable=True)
    #: Before the cards go out she is asked two things: "summary" (may the team
    #: see a short summary?) then "safety" (is it safe to talk now?); None once
    #: she answered (or the questions timed out) and the cards are posted.
    intake_step: Mapped[str | None] = mapped_column(String(8), nullable=True)
    #: Her answer to "is it safe to talk now?": "yes", "short", "no" or None.
    safe_now: Mapped[str | None] = mapped_column(String(8), nullable=True)
    #: Sealed JSON of the summary she agreed to share (labels of the parts of
    #: the bot she read, whether the danger answer was shown, the official area):
    #: never her words. None when she said no or was not asked.
    summary_enc: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        # Unique among open requests only: a closed request's alias may return.
        Index(
            "uq_handoff_requests_open_alias",
            "alias",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        Index("ix_handoff_requests_status", "status", "queued_at"),
    )


class HandoffCard(Base):
    """A request card posted to a team group, so it can be edited later
    ("taken by Hoa", "closed"). The platform message id comes from the outbox
    row once delivered, or from the button press itself."""

    __tablename__ = "handoff_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    address_enc: Mapped[str] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: "open" (has the Take button), "done" (edited: taken/closed/superseded).
    state: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime]


class HandoffMessage(Base):
    """Transcript of an open handoff, sealed: ``kind`` is "user" (from her),
    "member" (from the team) or, later, "note" (a private team note from the
    console). Purged after the retention period, or at once on erase."""

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    body_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: Held while queued: delivered to the member who takes the request.
    delivered: Mapped[bool] = mapped_column(default=True)


class HandoffCopy(Base):
    """Messages the bot can delete later from a team member's private chat: its
    relays of her words and the member's own replies. Both the chat and the
    platform ids are sealed; rows go when they are deleted (erase, or the end
    of the chat plus ``HELPLINE_MEMBER_COPY_HOURS``) or with the request."""

    __tablename__ = "handoff_copies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address_enc: Mapped[str] = mapped_column(Text)
    #: Sealed JSON list of platform message ids.
    ids_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class HandoffAudit(Base):
    """Who did what to which request, when: aliases and counts, never content."""

    __tablename__ = "handoff_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(16))
    request_alias: Mapped[str] = mapped_column(String(8))
    team_id: Mapped[str] = mapped_column(String(32))
    member_alias: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(64), nullable=True)


class HandoffSeen(Base):
    """Platform message ids of team updates already handled (a webhook retried,
    a poll repeated), so a member's message is relayed once. The id is kept as
    a short hash under the pseudonym of the chat; purged after a few days."""

    __tablename__ = "handoff_seen"

    chat_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class HandoffDuty(Base):
    """Who of a team is on duty (``/on``, ``/off``, the console toggle). Keyed by
    the team and the member's alias, the team's own label: no platform id. A
    member without a row follows the team's ``on_duty_by_default``."""

    __tablename__ = "handoff_duty"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_alias: Mapped[str] = mapped_column(String(32), primary_key=True)
    on_duty: Mapped[bool] = mapped_column(default=True)
    changed_at: Mapped[datetime]

"""Channel-agnostic messages: what adapters hand to the engine and get back.

Adapters translate platform updates into :class:`Incoming` and render
:class:`Outgoing` with platform calls. Nothing here knows a platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

#: Kinds of non-text content an adapter may report (the bot reads text only).
ATTACHMENT_KINDS = (
    "photo",
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "document",
    "location",
    "contact",
    "link",
    "animation",
    "other",
)


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the user; ``payload`` comes back when it is chosen."""

    label: str
    payload: str


@dataclass(slots=True)
class Incoming:
    """One thing a person did on a channel: a text, a button press or an attachment.

    ``address`` is the platform's chat/user id needed to reply. It never reaches
    the database in clear: the engine keys the user by an HMAC of
    ``channel:address`` and stores the address encrypted.
    """

    channel: str
    address: str
    message_id: str | None = None
    text: str | None = None
    payload: str | None = None
    attachment: str | None = None
    language_hint: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: Platform id of the message this one replies to (Telegram reply), if any.
    reply_to: str | None = None


@dataclass(slots=True)
class Outgoing:
    """One message for a person. ``silent`` asks for discreet delivery
    (no sound, a neutral first line); ``protect`` asks the platform to block
    forwarding and saving where it can. ``clear_history`` asks the channel to
    delete what it can of the conversation before sending this message (erase)."""

    text: str
    buttons: list[Button] = field(default_factory=list)
    silent: bool = False
    protect: bool = False
    clear_history: bool = False
    #: Platform message id to edit instead of sending a new message (request cards).
    edit_of: str | None = None


def utcnow() -> datetime:
    """Aware UTC now; one place so tests and code agree on time zones."""
    return datetime.now(UTC)

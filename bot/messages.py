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
    #: In a group chat (team groups): the platform id of the person who acted,
    #: while ``address`` is the group. None in private chats.
    sender_id: str | None = None
    #: Platform id of the message a pressed button was attached to (card edits).
    button_message_id: str | None = None


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
    #: Answer a button press with a pop-up alert instead of a chat message
    #: (e.g. "already taken"); channels without alerts send it as text.
    alert: bool = False
    #: With ``clear_history``: platform ids of the chat's recent messages (hers and
    #: the bot's) that the channel should delete where the platform allows it.
    delete_ids: list[str] = field(default_factory=list)
    #: A danger answer (113 / 115): sent ahead of ordinary replies when the
    #: platform's cap makes sends queue. Not stored: only direct replies need it.
    urgent: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "buttons": [[b.label, b.payload] for b in self.buttons],
            "silent": self.silent,
            "protect": self.protect,
            "edit_of": self.edit_of,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Outgoing:
        buttons = data.get("buttons") or []
        assert isinstance(buttons, list)
        return cls(
            text=str(data.get("text", "")),
            buttons=[Button(str(label), str(payload)) for label, payload in buttons],
            silent=bool(data.get("silent", False)),
            protect=bool(data.get("protect", False)),
            edit_of=str(data["edit_of"]) if data.get("edit_of") else None,
        )


def utcnow() -> datetime:
    """Aware UTC now; one place so tests and code agree on time zones."""
    return datetime.now(UTC)

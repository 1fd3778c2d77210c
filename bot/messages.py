"""Channel-agnostic messages: what adapters hand to the engine and get back.

Adapters translate platform updates into :class:`Incoming` and render
:class:`Outgoing` with platform calls. Nothing here knows a platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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


#: Channels where the bot may write first, days later (check-ins): Telegram
#: and the Zalo Bot Platform. Not the web chat (her page is closed, there is
#: no address to reach) nor Zalo OA (messages outside the reply window after
#: her last message are refused or need a paid tag). docs/voice.md, Check-ins.
CHECKIN_CHANNELS = frozenset({"telegram", "zalo_bot"})


@dataclass(frozen=True, slots=True)
class VoiceClip:
    """A voice message she sent, not yet fetched: how to get its audio into
    memory, and what the platform already says about it.

    The adapter fills it; the engine hands it to the transcriber and never
    looks inside. The audio is never written anywhere: ``download`` returns
    the bytes in memory, ``url`` is fetched into memory with no credentials.
    Neither the URL nor the callable appears in ``repr`` (no log line can
    carry them by accident).
    """

    #: The platform's media URL (Zalo OA ``user_send_audio``), or None.
    url: str | None = field(default=None, repr=False)
    #: Or a download by the platform's own client (Telegram ``getFile``).
    download: Callable[[], Awaitable[bytes | bytearray]] | None = field(
        default=None, repr=False, compare=False
    )
    #: Size in bytes and length in seconds, when the platform says.
    size_hint: int | None = None
    duration: float | None = None
    #: A platform reference that lets the same bot send this very audio on
    #: (a Telegram ``file_id``), for when she chooses to send her voice to the
    #: team member; None where the platform has none.
    forward_ref: str | None = field(default=None, repr=False)


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
    #: Platform id of a message she (or a team member) sent in a private chat,
    #: on channels where the bot can delete it later (Telegram): erase and the
    #: end of a handoff remove a member's replies from the member's chat.
    chat_message_id: str | None = None
    #: Platform id of the message a pressed button was attached to (card edits).
    button_message_id: str | None = None
    #: A voice message's audio, to be transcribed (``attachment`` is then
    #: "voice" or "audio"). The engine sets ``text`` to the transcript and
    #: ``transcribed`` to True when a backend understood it.
    voice: VoiceClip | None = None
    transcribed: bool = False


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
    #: A voice to send on, by the platform's own reference (Telegram
    #: ``file_id``); ``text`` is then its caption. Channels that cannot send
    #: it send the text alone.
    voice_ref: str | None = None
    #: A danger answer (113 / 115): sent ahead of ordinary replies when the
    #: platform's cap makes sends queue. Not stored: only direct replies need it.
    urgent: bool = False

    @classmethod
    def deletion(cls, ids: list[str]) -> Outgoing:
        """A job, not a message: delete these platform messages from the chat
        (a team member's copies of her words). Channels that cannot delete
        skip it."""
        return cls(text="", delete_ids=[str(i) for i in ids])

    @property
    def is_deletion(self) -> bool:
        return not self.text and bool(self.delete_ids)

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "text": self.text,
            "buttons": [[b.label, b.payload] for b in self.buttons],
            "silent": self.silent,
            "protect": self.protect,
            "edit_of": self.edit_of,
        }
        if self.delete_ids:
            data["delete_ids"] = list(self.delete_ids)
        if self.voice_ref:
            data["voice_ref"] = self.voice_ref
        return data

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
            delete_ids=[str(i) for i in ids]
            if isinstance(ids := data.get("delete_ids"), list)
            else [],
            voice_ref=str(data["voice_ref"]) if data.get("voice_ref") else None,
        )


def utcnow() -> datetime:
    """Aware UTC now; one place so tests and code agree on time zones."""
    return datetime.now(UTC)

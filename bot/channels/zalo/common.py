"""What Zalo OA and the Zalo Bot Platform share: what one inbound message
is, platform ids, our payloads typed or tapped as text, numbered options, and
the turn itself (translate, ask the engine, reply) run through the shared
:mod:`bot.channels.intake`.

Zalo has no callback buttons like Telegram's: an OA button sends its payload
back as a plain text message, and the Bot Platform has no buttons at all. So
the bot shows numbered options ("1. …") and maps an answer by number or label
back to the payload (:mod:`bot.channels.zalo.options` keeps them).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.channels.intake import Backoff, Intake
from bot.messages import Button, Incoming, Outgoing, VoiceClip

if TYPE_CHECKING:
    from bot.channels.zalo.options import OptionsStore
    from bot.channels.zalo.sender import ZaloSender
    from bot.engine import Engine

#: Zalo's text limit (OA and Bot Platform): 2,000 characters per message.
MAX_TEXT = 2000
#: Commands the flow runner understands as ``cmd:<name>``; typed as ``/name``
#: they are taken as the command too (the Bot Platform has no menu buttons).
COMMANDS = frozenset({"start", "menu", "help", "stop", "lang", "erase", "privacy"})
#: Zalo was told "200" before the turn ran: a turn that fails (database down)
#: is tried again a few times, for about 40 seconds.
BACKOFF = Backoff(attempts=5, first_delay=0.5, factor=4.0, max_delay=30.0)

_PAYLOAD = re.compile(r"(?:n|a):[A-Za-z0-9_.:\-]{1,120}|cmd:[a-z_]{1,20}")
_NUMBER = re.compile(r"\s*(?:s[oố]\s*)?(\d{1,2})\s*[.)]?\s*")


@dataclass(frozen=True, slots=True)
class Inbound:
    """What she did, read from an OA event or a Bot Platform update. With an
    ``attachment``, ``text`` is the caption sent with it (or None)."""

    address: str
    message_id: str | None
    text: str | None = None
    attachment: str | None = None
    #: A voice message's media URL (OA ``user_send_audio``), fetched into
    #: memory by the transcriber; kept out of ``repr``.
    audio_url: str | None = field(default=None, repr=False)
    #: In a team's Zalo group: who wrote (``address`` is the group). Only team
    #: groups get this far; other groups are dropped when the update is read.
    sender_id: str | None = None


def platform_id(value: Any) -> str | None:
    """A Zalo id (string or number) as a short string; None if missing or blank."""
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()[:64]
    return None


def payload_of_text(text: str) -> str | None:
    """The payload when a text is exactly one of ours (an OA button tap arrives
    as its payload in a text message) or a slash command like ``/start``."""
    value = text.strip()
    if _PAYLOAD.fullmatch(value):
        return value
    if value.startswith("/") and value[1:].lower() in COMMANDS:
        return "cmd:" + value[1:].lower()
    return None


def numbered(buttons: list[Button]) -> str:
    """The options as lines "1. label", to be answered by number or label."""
    return "\n".join(f"{i}. {b.label}" for i, b in enumerate(buttons, start=1))


def with_options(text: str, buttons: list[Button]) -> str:
    """The text followed by its buttons as numbered options."""
    return f"{text}\n\n{numbered(buttons)}" if text.strip() else numbered(buttons)


def fold(text: str) -> str:
    """Compare labels the way people type them: no case, no accents (``co``
    for ``Có``), no emoji or punctuation, single spaces."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text.casefold())
    kept = [c for c in text if unicodedata.category(c)[0] in "LN" or c.isspace()]
    return " ".join("".join(kept).split())


@dataclass(frozen=True, slots=True)
class Options:
    """The choices last shown to one person. ``numbered`` says whether she saw
    numbers (then "2" means the second); labels are accepted either way."""

    buttons: list[Button]
    numbered: bool

    def match(self, text: str) -> str | None:
        if self.numbered:
            m = _NUMBER.fullmatch(text)
            if m:
                index = int(m.group(1)) - 1
                return self.buttons[index].payload if 0 <= index < len(self.buttons) else None
        folded = fold(text)
        if not folded:
            return None
        hits = {b.payload for b in self.buttons if fold(b.label) == folded}
        return hits.pop() if len(hits) == 1 else None


class Turns:
    """One person's messages on one Zalo product, handled in the background in
    arrival order: translate, ask the engine (tried again while the database
    is down), reply through the sender."""

    def __init__(
        self, channel: str, engine: Engine, sender: ZaloSender, options: OptionsStore
    ) -> None:
        self.channel = channel
        self.engine = engine
        self.sender = sender
        self.options = options
        self.intake = Intake(channel, backoff=BACKOFF)

    def submit(self, inbound: Inbound) -> None:
        self.intake.submit(inbound.address, lambda: self._handle(inbound))

    async def _handle(self, inbound: Inbound) -> None:
        replies = await self.intake.retry(lambda: self._decide(inbound))
        if replies is not None:
            await self.sender.reply(inbound.address, replies)

    async def _decide(self, inbound: Inbound) -> list[Outgoing]:
        return await self.engine.handle(await self.translate(inbound))

    async def translate(self, inbound: Inbound) -> Incoming:
        """A tap on an OA button arrives as its payload in a text; ``/start``
        and our payloads typed out are commands; a number or a label answers
        the options last shown. Anything else is her text."""
        base = Incoming(
            channel=self.channel, address=inbound.address, message_id=inbound.message_id
        )
        if inbound.sender_id is not None:
            # A team group: "nhận K7Q2" is for the team side, never an option.
            base.sender_id = inbound.sender_id
            base.text = inbound.text
            return base
        if inbound.attachment is not None:
            base.attachment = inbound.attachment
            base.text = inbound.text  # a caption: read for danger like any text
            if inbound.audio_url is not None:
                base.voice = VoiceClip(url=inbound.audio_url)
            return base
        assert inbound.text is not None
        payload = payload_of_text(inbound.text) or await self.options.resolve(
            inbound.address, inbound.text
        )
        if payload is not None:
            base.payload = payload
        else:
            base.text = inbound.text
        return base

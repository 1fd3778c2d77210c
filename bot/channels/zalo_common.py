"""What the two Zalo channels share: text splitting, our payloads typed or
tapped as text, numbered options kept in the database, per-person ordering
of background work, and the reason string of the reply-window failure.

Zalo has no callback buttons like Telegram's: an OA button sends its payload
back as a plain text message, and the Bot Platform has no buttons at all. So
the bot shows numbered options ("1. …") and maps an answer by number or label
back to the payload. The last options shown to a person are kept sealed in
the ``kv`` table, not in process memory, because another process may receive
her answer (DESIGN.md §5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import DecryptionError, KeyRing
from bot.messages import Button, Incoming, Outgoing, utcnow
from bot.store import kv
from bot.store.db import Database

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

#: Zalo's text limit (OA ◐ and Bot Platform ✅): 2,000 characters per message.
MAX_TEXT = 2000
#: Longest text handed to the engine (the web chat uses the same cap).
MAX_INCOMING_TEXT = 10_000
#: A failed send because the person last wrote too long ago (OA ``-230``/``-305``).
#: The handoff module recognises the case by this prefix in the outbox reason
#: (``on_undeliverable(session, item, reason)``) and tells the team member that
#: she can be reached again only when she writes.
WINDOW_REASON_PREFIX = "zalo_window:"
#: Commands the flow runner understands as ``cmd:<name>``; typed as ``/name``
#: they are taken as the command too (the Bot Platform has no menu buttons).
COMMANDS = frozenset({"start", "menu", "help", "stop", "lang", "erase", "privacy"})
#: How long numbered options stay answerable.
OPTIONS_TTL = timedelta(days=2)
OPTIONS_PREFIX = "zopt:"

_PAYLOAD = re.compile(r"(?:n|a):[A-Za-z0-9_.:\-]{1,120}|cmd:[a-z_]{1,20}")
_NUMBER = re.compile(r"\s*(?:s[oố]\s*)?(\d{1,2})\s*[.)]?\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n")


def is_window_reason(reason: str) -> bool:
    """True for the reason given when the OA reply window has closed."""
    return reason.startswith(WINDOW_REASON_PREFIX)


def payload_of_text(text: str) -> str | None:
    """The payload when a text is exactly one of ours (an OA button tap arrives
    as its payload in a text message) or a slash command like ``/start``."""
    value = text.strip()
    if _PAYLOAD.fullmatch(value):
        return value
    if value.startswith("/") and value[1:].lower() in COMMANDS:
        return "cmd:" + value[1:].lower()
    return None


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph, a sentence,
    then a space, and only as a last resort inside a word."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]
        cut = window.rfind("\n\n")
        if cut < limit // 3:
            ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
            cut = ends[-1] if ends and ends[-1] >= limit // 3 else -1
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        if head:
            pieces.append(head)
    if text:
        pieces.append(text)
    return pieces


def numbered(buttons: list[Button]) -> str:
    """The options as lines "1. label", to be answered by number or label."""
    return "\n".join(f"{i}. {b.label}" for i, b in enumerate(buttons, start=1))


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


class OptionsStore:
    """The last options per person, sealed in ``kv`` under a pseudonym (never
    her platform id), replaced by every message with buttons, removed by a
    message without (a counsellor's words must not turn "1" into a button
    press), by erase, and after :data:`OPTIONS_TTL`."""

    def __init__(self, db: Database, keyring: KeyRing, channel: str) -> None:
        self.db = db
        self.keyring = keyring
        self.channel = channel

    def _name(self, address: str) -> str:
        return OPTIONS_PREFIX + self.keyring.user_key(self.channel, address)[:56]

    async def remember(self, address: str, buttons: list[Button], *, numbered: bool) -> None:
        name = self._name(address)
        async with self.db.transaction() as session:
            if not buttons:
                await kv.remove(session, name)
                return
            value = {"n": numbered, "b": [[b.label, b.payload] for b in buttons]}
            await kv.put(session, self.db, name, self.keyring.seal_json(value), utcnow())

    async def forget(self, address: str) -> None:
        async with self.db.transaction() as session:
            await kv.remove(session, self._name(address))

    async def load(self, address: str) -> Options | None:
        async with self.db.transaction() as session:
            row = await kv.get(session, self._name(address))
        if row is None or row.updated_at < utcnow() - OPTIONS_TTL:
            return None
        try:
            value: dict[str, Any] = self.keyring.open_json(row.value_enc)
        except (DecryptionError, ValueError):
            return None
        buttons = [Button(str(label), str(payload)) for label, payload in value.get("b", [])]
        return Options(buttons, bool(value.get("n")))

    async def resolve(self, address: str, text: str) -> str | None:
        """The payload her text stands for, if it answers the last options."""
        if len(text) > 200:
            return None
        options = await self.load(address)
        return options.match(text) if options else None


async def purge_options_hook(session: AsyncSession, retention: timedelta) -> int:
    """Retention step: drop options older than :data:`OPTIONS_TTL` (or the
    retention period if shorter) of every Zalo user."""
    age = min(OPTIONS_TTL, retention)
    return await kv.remove_older(session, OPTIONS_PREFIX, utcnow() - age)


def add_options_purge(runtime: Runtime) -> None:
    """Register :func:`purge_options_hook` once, whichever Zalo channels are on."""
    if purge_options_hook not in runtime.purge_hooks:
        runtime.purge_hooks.append(purge_options_hook)


async def handle_with_retry(
    engine: Engine, incoming: Incoming, *, attempts: int = 5, first_delay: float = 0.5
) -> list[Outgoing] | None:
    """The engine's answer, trying again if the database failed. Zalo was
    already told "200" (it wants an answer within 2 seconds, A1), so nobody
    would redeliver; the engine dedupes, so a retry cannot answer twice.
    None when it kept failing (logged without personal data)."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return await engine.handle(incoming)
        except Exception as exc:
            if attempt == attempts:
                log.error(
                    "%s: update given up after %d tries (%s)",
                    incoming.channel,
                    attempts,
                    type(exc).__name__,
                )
                return None
            log.warning(
                "%s: update not handled (%s); retry in %.1fs",
                incoming.channel,
                type(exc).__name__,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 4, 30.0)
    return None


class InOrder:
    """Background work per person, one after the other in arrival order, people
    in parallel. The webhook answers Zalo at once and the work continues here;
    the engine's own per-user lock would not keep the order, because a task
    may be overtaken before it reaches the lock."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Task[None]] = {}

    def submit(self, key: str, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        previous = self._tails.get(key)
        task = asyncio.create_task(self._after(previous, work))
        self._tails[key] = task
        task.add_done_callback(lambda t: self._done(key, t))
        return task

    async def _after(
        self, previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None:
            with contextlib.suppress(BaseException):
                await previous
        try:
            await work()
        except Exception as exc:  # logged, never raised into the event loop
            log.error("zalo: background turn failed (%s)", type(exc).__name__)

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    async def drain(self, seconds: float = 10.0) -> None:
        """Wait for work in progress (shutdown, tests)."""
        pending = [t for t in self._tails.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=seconds)

    def cancel(self) -> None:
        for task in self._tails.values():
            task.cancel()

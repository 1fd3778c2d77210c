"""Sending on Zalo, for both channels: the outbox's :class:`~bot.interfaces.Sender`
and the direct replies to a turn.

Each platform only says how one :class:`Outgoing` becomes API calls
(``_deliver``); the bookkeeping is here: which options she can answer by
number or label next, forgetting them on erase, and handing replies that
could not be sent right away to the outbox so that a Zalo hiccup loses
nothing (DESIGN.md §3.9).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from bot.channels.zalo_common import OptionsStore
from bot.interfaces import DeliveryError
from bot.logs import short
from bot.messages import Button, Outgoing
from bot.outbox import Outbox
from bot.store.db import Database

log = logging.getLogger(__name__)


class ZaloSender(ABC):
    """Base class; subclasses set ``channel`` and implement ``_deliver``."""

    channel: str = ""

    def __init__(self, db: Database, outbox: Outbox, options: OptionsStore) -> None:
        self.db = db
        self.outbox = outbox
        self.options = options

    @abstractmethod
    async def _deliver(self, address: str, message: Outgoing) -> tuple[list[str], bool]:
        """Send one message; returns (platform ids, whether its buttons were
        shown as numbered options)."""

    async def send(self, address: str, message: Outgoing) -> list[str]:
        """The outbox's entry point: one message (a counsellor's reply, a notice).
        Its buttons, or their absence, decide what "1" means next."""
        if message.clear_history:
            await self.options.forget(address)
        ids, was_numbered = await self._deliver(address, message)
        await self.options.remember(address, message.buttons, numbered=was_numbered)
        return ids

    async def reply(self, address: str, replies: list[Outgoing]) -> None:
        """Answer a turn. The options she can answer next are those of the last
        message with buttons. After an erase nothing about her is stored again.
        A reply that fails for a reason that may pass goes to the outbox with
        the ones after it, in order."""
        erased = any(r.clear_history for r in replies)
        if erased:
            await self.options.forget(address)
        buttons: list[Button] = []
        was_numbered = False
        for index, message in enumerate(replies):
            try:
                _, numbered = await self._deliver(address, message)
            except DeliveryError as exc:
                if exc.permanent:
                    log.info("%s: reply not deliverable (%s)", self.channel, exc.reason[:60])
                    return
                await self._to_outbox(address, replies[index:], exc.reason)
                return
            except Exception as exc:  # network trouble: the outbox retries
                await self._to_outbox(address, replies[index:], type(exc).__name__)
                return
            if message.buttons:
                buttons, was_numbered = message.buttons, numbered
        if not erased:
            await self.options.remember(address, buttons, numbered=was_numbered)

    async def _to_outbox(self, address: str, messages: list[Outgoing], reason: str) -> None:
        async with self.db.transaction() as session:
            for message in messages:
                item = self.outbox.to_address(session, self.channel, address, message)
        log.info(
            "%s: %d repl%s queued for retry to %s (%s)",
            self.channel,
            len(messages),
            "y" if len(messages) == 1 else "ies",
            short(item.recipient),
            reason[:60],
        )
        self.outbox.wake()

"""Sending on Zalo, for both products: the outbox's :class:`~bot.interfaces.Sender`
and the direct replies to a turn.

Each product only says how one :class:`Outgoing` becomes API calls
(``_deliver``); the bookkeeping is here: which options she can answer by
number or label next, and forgetting them on erase. A reply that fails
follows the rule every adapter shares (:mod:`bot.channels.replies`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from bot.channels.replies import FailedReplies
from bot.channels.zalo.options import OptionsStore
from bot.messages import Button, Outgoing
from bot.outbox import Outbox
from bot.store.db import Database


class ZaloSender(ABC):
    """Base class; subclasses set ``channel`` and implement ``_deliver``."""

    channel: str = ""

    def __init__(self, db: Database, outbox: Outbox, options: OptionsStore) -> None:
        self.db = db
        self.outbox = outbox
        self.options = options
        self.failed = FailedReplies(self.channel, db, outbox)

    @abstractmethod
    async def _deliver(self, address: str, message: Outgoing) -> tuple[list[str], bool]:
        """Send one message; returns (platform ids, whether its buttons were
        shown as numbered options). Raises :class:`~bot.interfaces.DeliveryError`."""

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
        message with buttons. After an erase nothing about her is stored again."""
        erased = any(r.clear_history for r in replies)
        if erased:
            await self.options.forget(address)
        buttons: list[Button] = []
        was_numbered = False
        for index, message in enumerate(replies):
            try:
                _, numbered = await self._deliver(address, message)
            except Exception as exc:
                await self.failed.send_failed(address, replies[index:], exc)
                return
            if message.buttons:
                buttons, was_numbered = message.buttons, numbered
        if not erased:
            await self.options.remember(address, buttons, numbered=was_numbered)

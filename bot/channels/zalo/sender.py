"""Sending on Zalo, for both products: the outbox's :class:`~bot.interfaces.Sender`
and the direct replies to a turn.

Each product only says how one :class:`Outgoing` becomes API calls
(``_deliver``); the bookkeeping is here: which options she can answer by
number or label next, and forgetting them on erase. A reply that fails
follows the rule every adapter shares (:mod:`bot.channels.replies`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from bot.channels.pacing import PriorityPacer, urgent_sends
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
        self.pacer: PriorityPacer | None = None

    def pace(self, per_second: float) -> None:
        """Cap the messages sent per second (0 = no cap). Under a load that
        fills the cap, a danger answer goes ahead of the ordinary replies."""
        self.pacer = PriorityPacer(per_second) if per_second > 0 else None

    async def _paced(self, address: str, message: Outgoing) -> tuple[list[str], bool]:
        if self.pacer is not None:
            with urgent_sends(message.urgent):
                await self.pacer.acquire()
        return await self._deliver(address, message)

    @abstractmethod
    async def _deliver(self, address: str, message: Outgoing) -> tuple[list[str], bool]:
        """Send one message; returns (platform ids, whether its buttons were
        shown as numbered options). Raises :class:`~bot.interfaces.DeliveryError`."""

    async def send(self, address: str, message: Outgoing) -> list[str]:
        """The outbox's entry point: one message (a counsellor's reply, a notice).
        Its buttons, or their absence, decide what "1" means next."""
        if message.clear_history:
            await self.options.forget(address)
        ids, was_numbered = await self._paced(address, message)
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
        if await self.failed.queue_if_behind(address, replies):
            return  # they follow her earlier replies through the outbox
        for index, message in enumerate(replies):
            try:
                _, numbered = await self._paced(address, message)
            except Exception as exc:
                await self.failed.send_failed(address, replies[index:], exc)
                return
            if message.buttons:
                buttons, was_numbered = message.buttons, numbered
        if not erased:
            await self.options.remember(address, buttons, numbered=was_numbered)

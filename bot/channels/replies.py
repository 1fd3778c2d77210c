"""One rule for a turn's reply that could not be sent directly, for every
adapter that answers after the engine decided (Telegram, Zalo OA, Zalo Bot).

The turn is already stored, so the person's words are never lost; what may
be lost is our answer. So:

- a failure that retrying cannot cure (she blocked the bot, the reply window
  closed, the platform refuses the request) ends the answer: the rest would
  fail the same way, and the outbox would only try again in vain;
- any other failure (network, flood wait, quota, our token) hands the reply
  that failed and every reply after it to the outbox, in order, which tries
  again with backoff and tells handoff if it finally gives up;
- while replies handed over that way still wait, her next turn's replies
  join them in the outbox instead of overtaking them (one person's replies
  arrive in order) — except a danger answer, which never waits, and an erase,
  which must act at once.
"""

from __future__ import annotations

import logging

from bot.interfaces import DeliveryError, Failure
from bot.logs import short
from bot.messages import Outgoing
from bot.outbox import Outbox, has_waiting
from bot.store.db import Database

log = logging.getLogger(__name__)


def as_delivery_error(exc: Exception) -> DeliveryError:
    """A platform-independent failure for any exception a send raised: one
    the platform mapping did not know is treated as a connection problem."""
    if isinstance(exc, DeliveryError):
        return exc
    return DeliveryError(Failure.CONNECTION, type(exc).__name__)


class FailedReplies:
    """Applies the rule for one channel; ``send_failed`` is called once per turn."""

    def __init__(self, channel: str, db: Database, outbox: Outbox) -> None:
        self.channel = channel
        self.db = db
        self.outbox = outbox
        #: Addresses whose replies were handed to the outbox by this process
        #: (a hint: the database says whether they still wait).
        self._behind: set[str] = set()

    async def queue_if_behind(self, address: str, replies: list[Outgoing]) -> bool:
        """Hand this turn's replies to the outbox when earlier ones still wait
        there; True if it did (the caller then sends nothing itself)."""
        if address not in self._behind or not replies:
            return False
        if any(r.urgent or r.clear_history for r in replies):
            return False
        recipient = self.outbox.keyring.user_key(self.channel, address)
        if not await has_waiting(self.db, recipient):
            self._behind.discard(address)
            return False
        await self._queue(address, replies)
        log.info("%s: replies queued behind earlier ones", self.channel)
        return True

    async def _queue(self, address: str, replies: list[Outgoing]) -> None:
        async with self.db.transaction() as session:
            for message in replies:
                self.outbox.to_address(session, self.channel, address, message)
        self._behind.add(address)
        self.outbox.wake()

    async def send_failed(self, address: str, rest: list[Outgoing], exc: Exception) -> None:
        """``rest[0]`` failed with ``exc``; ``rest[1:]`` were not tried yet."""
        error = as_delivery_error(exc)
        if error.permanent:
            log.info("%s: reply not deliverable (%s)", self.channel, error.reason[:60])
            return
        await self._queue(address, rest)
        log.info(
            "%s: %d repl%s queued for retry to %s (%s)",
            self.channel,
            len(rest),
            "y" if len(rest) == 1 else "ies",
            short(self.outbox.keyring.user_key(self.channel, address)),
            error.reason[:60],
        )

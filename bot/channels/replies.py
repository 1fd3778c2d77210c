"""One rule for a turn's reply that could not be sent directly, for every
adapter that answers after the engine decided (Telegram, Zalo OA, Zalo Bot).

The turn is already stored, so the person's words are never lost; what may
be lost is our answer. So:

- a failure that retrying cannot cure (she blocked the bot, the reply window
  closed, the platform refuses the request) ends the answer: the rest would
  fail the same way, and the outbox would only try again in vain;
- any other failure (network, flood wait, quota, our token) hands the reply
  that failed and every reply after it to the outbox, in order, which tries
  again with backoff and tells handoff if it finally gives up.
"""

from __future__ import annotations

import logging

from bot.interfaces import DeliveryError, Failure
from bot.logs import short
from bot.messages import Outgoing
from bot.outbox import Outbox
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

    async def send_failed(self, address: str, rest: list[Outgoing], exc: Exception) -> None:
        """``rest[0]`` failed with ``exc``; ``rest[1:]`` were not tried yet."""
        error = as_delivery_error(exc)
        if error.permanent:
            log.info("%s: reply not deliverable (%s)", self.channel, error.reason[:60])
            return
        async with self.db.transaction() as session:
            for message in rest:
                item = self.outbox.to_address(session, self.channel, address, message)
        log.info(
            "%s: %d repl%s queued for retry to %s (%s)",
            self.channel,
            len(rest),
            "y" if len(rest) == 1 else "ies",
            short(item.recipient),
            error.reason[:60],
        )
        self.outbox.wake()

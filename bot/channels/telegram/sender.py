"""The outbox's way to Telegram: team replies, relays, request cards."""

from __future__ import annotations

from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, TelegramError

from bot.channels.telegram.errors import delivery_error
from bot.channels.telegram.render import CHANNEL, DELETE_BATCH, as_int_ids, send_outgoing
from bot.interfaces import DeliveryError, Failure
from bot.messages import Outgoing


class TelegramSender:
    """An alert has no button press to answer here, so it arrives as a normal
    message. Works for private chats and (negative) group ids alike."""

    channel = CHANNEL

    def __init__(self) -> None:
        self.bot: Bot | None = None

    async def send(self, address: str, message: Outgoing) -> list[str]:
        bot = self._bot()
        chat_id = _chat_id(address)
        try:
            ids = await send_outgoing(bot, chat_id, message)
        except ChatMigrated as exc:  # a group became a supergroup: follow it once
            try:
                ids = await send_outgoing(bot, exc.new_chat_id, message)
            except TelegramError as again:
                raise delivery_error(again) from again
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise DeliveryError(Failure.CONNECTION, "telegram connection failed") from exc
        return [str(i) for i in ids]

    async def delete_messages(self, address: str, ids: list[str]) -> None:
        """A deletion job from the outbox (copies in a team member's chat).
        Telegram skips ids it cannot find and refuses ids older than 48 hours:
        a refused batch is given up (nothing else can delete it), a network
        error or a flood wait is retried by the outbox."""
        bot = self._bot()
        chat_id = _chat_id(address)
        unique = sorted(set(as_int_ids(ids)))
        for start in range(0, len(unique), DELETE_BATCH):
            batch = unique[start : start + DELETE_BATCH]
            try:
                await bot.delete_messages(chat_id=chat_id, message_ids=batch)
            except BadRequest:
                continue
            except TelegramError as exc:
                raise delivery_error(exc) from exc
            except (TimeoutError, OSError) as exc:
                raise DeliveryError(Failure.CONNECTION, "telegram connection failed") from exc

    def _bot(self) -> Bot:
        if self.bot is None:
            raise DeliveryError(Failure.CONNECTION, "telegram not started", retry_after=5.0)
        return self.bot


def _chat_id(address: str) -> int | str:
    return int(address) if address.lstrip("-").isdigit() else address

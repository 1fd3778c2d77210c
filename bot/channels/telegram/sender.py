"""The outbox's way to Telegram: team replies, relays, request cards."""

from __future__ import annotations

from telegram import Bot
from telegram.error import ChatMigrated, TelegramError

from bot.channels.telegram.errors import delivery_error
from bot.channels.telegram.render import CHANNEL, send_outgoing
from bot.interfaces import DeliveryError, Failure
from bot.messages import Outgoing


class TelegramSender:
    """An alert has no button press to answer here, so it arrives as a normal
    message. Works for private chats and (negative) group ids alike."""

    channel = CHANNEL

    def __init__(self) -> None:
        self.bot: Bot | None = None

    async def send(self, address: str, message: Outgoing) -> list[str]:
        if self.bot is None:
            raise DeliveryError(Failure.CONNECTION, "telegram not started", retry_after=5.0)
        chat_id: int | str = int(address) if address.lstrip("-").isdigit() else address
        try:
            ids = await send_outgoing(self.bot, chat_id, message)
        except ChatMigrated as exc:  # a group became a supergroup: follow it once
            try:
                ids = await send_outgoing(self.bot, exc.new_chat_id, message)
            except TelegramError as again:
                raise delivery_error(again) from again
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise DeliveryError(Failure.CONNECTION, "telegram connection failed") from exc
        return [str(i) for i in ids]

"""Telegram on python-telegram-bot 22.

- ``convert``: update → :class:`~bot.messages.Incoming`, pure, checked
  against recorded Bot API payloads;
- ``render``: :class:`~bot.messages.Outgoing` → Bot API calls (discreet
  messages, erase);
- ``sender``: the outbox's :class:`~bot.interfaces.Sender`;
- ``errors``: Bot API errors as a :class:`~bot.interfaces.Failure`;
- ``adapter``: the channel (polling or webhook, updates in order per chat).
"""

from bot.channels.telegram.adapter import TelegramChannel, team_groups_of, webhook_secret
from bot.channels.telegram.sender import TelegramSender

__all__ = ["TelegramChannel", "TelegramSender", "team_groups_of", "webhook_secret"]

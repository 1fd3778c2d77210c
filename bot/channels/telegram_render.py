"""``Outgoing`` → Bot API calls, shared by direct replies and the outbox.

Rendering rules that protect her on a shared phone live here: discreet
messages arrive without sound and with a neutral first line (the lock-screen
preview shows only that line); erase deletes every recent message of her chat
in batches of at most 100. Platform errors become :class:`DeliveryError` so
the outbox knows whether to retry (network, flood) or give up (blocked).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import BulkRequestLimit, MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.interfaces import DeliveryError
from bot.messages import Button, Outgoing

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
MAX_CALLBACK_DATA = 64
MAX_ALERT = 200
DELETE_BATCH = int(BulkRequestLimit.MAX_LIMIT)  # 100

#: First line of a discreet message: all a lock-screen preview shows.
NEUTRAL_LINE = {"vi": "Tin nhắn mới", "en": "New message"}
#: Letters only Vietnamese uses; enough to pick the neutral line's language.
_VIETNAMESE = re.compile(
    "[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]",
    re.IGNORECASE,
)
#: Where a long text may be cut, best first.
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "… ", "; ", ", ", " ")


def neutral_line(text: str) -> str:
    return NEUTRAL_LINE["vi" if _VIETNAMESE.search(text) else "en"]


def discreet_text(text: str) -> str:
    """The text as a lock screen should see it: a neutral line, a blank line, the text."""
    return f"{neutral_line(text)}\n\n{text}"


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    if utf16_len(text) <= limit:
        return len(text)
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut a long text into parts Telegram accepts, on paragraph, line or
    sentence boundaries where possible, so every part reads as whole sentences."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        room = _fit(rest, limit)
        window = rest[:room]
        cut = 0
        for mark in _BREAKS:
            found = window.rfind(mark)
            if found > room // 3:  # not a tiny first part
                cut = found + len(mark)
                break
        if cut == 0:
            cut = room
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    if not parts:
        return [rest]
    if rest.strip():
        parts.append(rest.rstrip())
    return parts


def keyboard(buttons: Iterable[Button]) -> InlineKeyboardMarkup | None:
    """One button per row: Vietnamese labels are long and phones are narrow."""
    rows = []
    for button in buttons:
        if len(button.payload.encode("utf-8")) > MAX_CALLBACK_DATA:
            log.warning("button dropped: payload longer than %d bytes", MAX_CALLBACK_DATA)
            continue
        rows.append([InlineKeyboardButton(button.label[:64], callback_data=button.payload)])
    return InlineKeyboardMarkup(rows) if rows else None


def retry_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a Bot API error means for the outbox."""
    if isinstance(exc, RetryAfter):
        return DeliveryError("telegram flood control", retry_after=retry_seconds(exc))
    if isinstance(exc, Forbidden):
        # Blocked by the user, kicked from the group, account deleted: retrying cannot help.
        return DeliveryError("telegram forbidden", permanent=True)
    if isinstance(exc, BadRequest):
        # Chat not found, message to edit gone...: the same request will fail again.
        return DeliveryError("telegram bad request", permanent=True)
    if isinstance(exc, NetworkError):
        return DeliveryError("telegram network error")
    return DeliveryError(f"telegram {type(exc).__name__}")


async def send_outgoing(bot: Bot, chat_id: int | str, message: Outgoing) -> list[int]:
    """Send (or edit) one message; returns the ids of the messages it created.

    Raises :class:`TelegramError`; callers decide what a failure means.
    """
    text = discreet_text(message.text) if message.silent else message.text
    markup = keyboard(message.buttons)
    if message.edit_of:
        return [await _edit(bot, chat_id, int(message.edit_of), text, markup)]
    parts = split_text(text or " ")
    ids: list[int] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent: Message = await bot.send_message(
            chat_id=chat_id,
            text=part,
            reply_markup=markup if last else None,
            disable_notification=message.silent,
            protect_content=message.protect,
        )
        ids.append(sent.message_id)
    return ids


async def _edit(
    bot: Bot, chat_id: int | str, message_id: int, text: str, markup: InlineKeyboardMarkup | None
) -> int:
    try:
        await bot.edit_message_text(
            chat_id=chat_id,
            message_id=message_id,
            text=split_text(text)[0],
            reply_markup=markup,
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
    return message_id


async def delete_recent(bot: Bot, chat_id: int | str, ids: Iterable[int]) -> int:
    """Delete the given messages in batches of ≤ 100; returns how many batches
    Telegram accepted. Ids it cannot find (older than 48 h, already gone) are
    skipped by Telegram; a failing batch does not stop the others."""
    unique = sorted(set(ids))
    accepted = 0
    for start in range(0, len(unique), DELETE_BATCH):
        batch = unique[start : start + DELETE_BATCH]
        try:
            await bot.delete_messages(chat_id=chat_id, message_ids=batch)
            accepted += 1
        except TelegramError as exc:
            log.warning("erase: a batch of %d deletions failed: %s", len(batch), type(exc).__name__)
    return accepted


def as_int_ids(ids: Iterable[str | int | None]) -> list[int]:
    out = []
    for value in ids:
        try:
            out.append(int(str(value)))
        except (TypeError, ValueError):
            continue
    return out


class TelegramSender:
    """The outbox's way to Telegram: team replies, relays, request cards.

    An alert has no button press to answer here, so it arrives as a normal
    message. Works for private chats and (negative) group ids alike.
    """

    channel = CHANNEL

    def __init__(self) -> None:
        self.bot: Bot | None = None

    async def send(self, address: str, message: Outgoing) -> list[str]:
        if self.bot is None:
            raise DeliveryError("telegram not started", retry_after=5.0)
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
            raise DeliveryError("telegram connection failed") from exc
        return [str(i) for i in ids]

"""``Outgoing`` → Bot API calls, shared by direct replies and the outbox.

Rendering rules that protect her on a shared phone live here: discreet
messages arrive without sound and with a neutral first line (the lock-screen
preview shows only that line); erase deletes every recent message of her chat
in batches of at most 100. Raises PTB's errors; ``errors`` says what they mean.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import BulkRequestLimit, MessageLimit
from telegram.error import BadRequest, TelegramError

from bot.messages import Button, Outgoing
from bot.text_limits import split_text as _split
from bot.text_limits import utf16_len

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
MAX_CALLBACK_DATA = 64
MAX_ALERT = 200
MAX_CAPTION = int(MessageLimit.CAPTION_LENGTH)  # 1024
DELETE_BATCH = int(BulkRequestLimit.MAX_LIMIT)  # 100

#: First line of a discreet message: all a lock-screen preview shows.
NEUTRAL_LINE = {"vi": "Tin nhắn mới", "en": "New message"}
#: Letters only Vietnamese uses; enough to pick the neutral line's language.
_VIETNAMESE = re.compile(
    "[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]",
    re.IGNORECASE,
)


def neutral_line(text: str) -> str:
    return NEUTRAL_LINE["vi" if _VIETNAMESE.search(text) else "en"]


def discreet_text(text: str) -> str:
    """The text as a lock screen should see it: a neutral line, a blank line, the text."""
    return f"{neutral_line(text)}\n\n{text}"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts Telegram accepts (counted in UTF-16 units), cut on paragraph, line
    or sentence boundaries where possible; a blank text is one part as is."""
    return _split(text, limit, measure=utf16_len) or [text]


def keyboard(buttons: Iterable[Button]) -> InlineKeyboardMarkup | None:
    """One button per row: Vietnamese labels are long and phones are narrow."""
    rows = []
    for button in buttons:
        if len(button.payload.encode("utf-8")) > MAX_CALLBACK_DATA:
            log.warning("button dropped: payload longer than %d bytes", MAX_CALLBACK_DATA)
            continue
        rows.append([InlineKeyboardButton(button.label[:64], callback_data=button.payload)])
    return InlineKeyboardMarkup(rows) if rows else None


async def send_outgoing(bot: Bot, chat_id: int | str, message: Outgoing) -> list[int]:
    """Send (or edit) one message; returns the ids of the messages it created.

    Raises :class:`TelegramError`; callers decide what a failure means.
    """
    text = discreet_text(message.text) if message.silent else message.text
    markup = keyboard(message.buttons)
    if message.edit_of:
        return [await _edit(bot, chat_id, int(message.edit_of), text, markup)]
    if message.voice_ref:
        # Her own voice, passed on by Telegram's file id: the bot never holds it.
        voice: Message = await bot.send_voice(
            chat_id=chat_id,
            voice=message.voice_ref,
            caption=split_text(text, MAX_CAPTION)[0] if text.strip() else None,
            reply_markup=markup,
            disable_notification=message.silent,
            protect_content=message.protect,
        )
        return [voice.message_id]
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

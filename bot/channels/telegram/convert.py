"""Telegram updates → :class:`Incoming`. Pure functions, no I/O, so the
translation can be checked against recorded Bot API payloads.

Only translation lives here: which command means which payload,
what kind of attachment a message carries, which ids the engine needs for
dedupe (``m<message_id>`` per chat, ``c<callback id>``), erase and group
cards. What to answer is the runner's and handoff's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import CallbackQuery, Chat, Message, Update

from bot.messages import Incoming
from bot.text_limits import cap_input

CHANNEL = "telegram"

#: Commands a person can type, and the runner payload each one means.
#: ``/xoa`` is the Vietnamese spelling of ``/erase`` (xóa = delete).
USER_COMMANDS: dict[str, str] = {
    "start": "cmd:start",
    "menu": "cmd:menu",
    "help": "cmd:help",
    "stop": "cmd:stop",
    "lang": "cmd:lang",
    "xoa": "cmd:erase",
    "erase": "cmd:erase",
    "privacy": "cmd:privacy",
}

GROUP_TYPES = frozenset({Chat.GROUP, Chat.SUPERGROUP})


@dataclass(frozen=True, slots=True)
class Translated:
    """What one update means for the adapter.

    ``incoming`` is None when there is nothing for the engine (edited messages,
    service messages, channel posts). ``own_message_id`` is her message's
    platform id in a private chat, to record for erase. ``callback_id`` is set
    for a button press, which must always be answered.
    """

    incoming: Incoming | None
    chat_id: int | None
    is_group: bool = False
    own_message_id: int | None = None
    callback_id: str | None = None
    edited: bool = False


def attachment_kind(message: Message) -> str | None:
    """The kind of non-text content, in the names of ``ATTACHMENT_KINDS``.

    Animation is checked before document because Telegram sets both for a GIF;
    venue before location for the same reason.
    """
    checks: list[tuple[str, object]] = [
        ("sticker", message.sticker),
        ("animation", message.animation),
        ("photo", message.photo),
        ("voice", message.voice),
        ("audio", message.audio),
        ("video_note", message.video_note),
        ("video", message.video),
        ("document", message.document),
        ("location", message.venue or message.location),
        ("contact", message.contact),
    ]
    for kind, value in checks:
        if value:
            return kind
    if message.poll or message.dice or message.game or message.story or message.paid_media:
        return "other"
    return None


def language_hint(code: str | None) -> str | None:
    """Telegram's ``language_code`` is an IETF tag ("vi", "en-US"); the runner knows vi/en."""
    if not code:
        return None
    base = code.split("-")[0].lower()
    return base if base in {"vi", "en"} else None


def split_command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """``/name@bot args`` → (name, args); None if not a command or meant for another bot."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, rest = text.partition(" ")
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return name.lower(), rest.strip()


def from_message(message: Message, *, bot_username: str | None, edited: bool = False) -> Translated:
    chat = message.chat
    is_group = chat.type in GROUP_TYPES
    if chat.type not in GROUP_TYPES and chat.type != Chat.PRIVATE:
        return Translated(None, chat.id)
    if edited:
        return Translated(None, chat.id, is_group=is_group, edited=True)
    user = message.from_user
    base = Incoming(
        channel=CHANNEL,
        address=str(chat.id),
        message_id=f"m{message.message_id}",
        language_hint=language_hint(user.language_code if user else None),
        reply_to=str(message.reply_to_message.message_id) if message.reply_to_message else None,
        sender_id=str(user.id) if is_group and user else None,
        chat_message_id=None if is_group else str(message.message_id),
    )
    own_id = None if is_group else message.message_id
    text = message.text
    if text is not None:
        command = split_command(text, bot_username)
        if command is not None and not is_group and command[0] in USER_COMMANDS:
            # Deep-link parameters (/start xyz) are dropped: they could carry
            # where she found the bot, which is nobody's business.
            base.payload = USER_COMMANDS[command[0]]
        else:
            # Other commands (team: /end, /release, /to K7Q2 ...) go on unchanged.
            base.text = cap_input(text)
        return Translated(base, chat.id, is_group=is_group, own_message_id=own_id)
    kind = attachment_kind(message)
    if kind is None:
        return Translated(None, chat.id, is_group=is_group)  # service message
    base.attachment = kind
    if message.caption:
        # A caption can carry danger words; the engine reads it like a text.
        base.text = cap_input(message.caption)
    return Translated(base, chat.id, is_group=is_group, own_message_id=own_id)


def from_callback(query: CallbackQuery) -> Translated:
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    chat_type = message.chat.type if message is not None else Chat.PRIVATE
    is_group = chat_type in GROUP_TYPES
    if query.data is None:  # game buttons and the like: answered, nothing more
        return Translated(None, chat_id, is_group=is_group, callback_id=query.id)
    incoming = Incoming(
        channel=CHANNEL,
        address=str(chat_id),
        message_id=f"c{query.id}",
        payload=query.data[:64],
        language_hint=language_hint(query.from_user.language_code),
        sender_id=str(query.from_user.id) if is_group else None,
        button_message_id=str(message.message_id) if message is not None else None,
    )
    return Translated(incoming, chat_id, is_group=is_group, callback_id=query.id)


def translate(update: Update, *, bot_username: str | None) -> Translated:
    """Any update → what it means; unknown kinds mean nothing."""
    if update.callback_query is not None:
        return from_callback(update.callback_query)
    if update.message is not None:
        return from_message(update.message, bot_username=bot_username)
    if update.edited_message is not None:
        return from_message(update.edited_message, bot_username=bot_username, edited=True)
    chat = update.effective_chat
    return Translated(
        None, chat.id if chat else None, is_group=bool(chat and chat.type in GROUP_TYPES)
    )

"""Bot Platform updates (webhook body or ``getUpdates`` result) read into an
:class:`~bot.channels.zalo.common.Inbound`. Pure functions, checked against
recorded updates.

Each kind of message has its own reader below, so that one kind can change
without touching the others (a voice note, for example, could be transcribed
instead of answered "text only"). A caption is read like a text: danger words
under a photo get the same answer as typed ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.channels.zalo.common import Inbound, platform_id
from bot.text_limits import cap_input

log = logging.getLogger(__name__)

TEXT_EVENT = "message.text.received"


class BadUpdate(ValueError):
    """The body is not an update we can read (answered 400)."""


#: What a Bot Platform update means (the same shape as an OA event).
BotUpdate = Inbound
Reader = Callable[[str, str | None, dict[str, Any]], BotUpdate | None]


def unwrap(data: Any) -> Any:
    """Webhook bodies come flat or wrapped in ``{ok, result}`` (docs/zalo-api.md:
    uncertain): accept both."""
    if isinstance(data, dict) and "result" in data and "message" not in data:
        return data["result"]
    return data


def caption_of(message: dict[str, Any]) -> str | None:
    """The words sent with a photo (``caption``), capped; None if there are none."""
    caption = message.get("caption")
    if isinstance(caption, str) and caption.strip():
        return cap_input(caption)
    return None


def read_text(address: str, message_id: str | None, message: dict[str, Any]) -> BotUpdate | None:
    text = message.get("text")
    if not isinstance(text, str):
        raise BadUpdate("no text")
    if not text.strip():
        return None
    return BotUpdate(address, message_id, text=cap_input(text))


def read_photo(address: str, message_id: str | None, message: dict[str, Any]) -> BotUpdate:
    """``photo_url`` and ``caption``: the caption goes to the NLU."""
    return BotUpdate(address, message_id, text=caption_of(message), attachment="photo")


def read_voice(address: str, message_id: str | None, message: dict[str, Any]) -> BotUpdate:
    """A voice note (``voice_url``, AAC). Without speech recognition she is
    told the bot reads text only; this is where a transcription would go."""
    return BotUpdate(address, message_id, attachment="voice")


def read_sticker(address: str, message_id: str | None, message: dict[str, Any]) -> BotUpdate:
    return BotUpdate(address, message_id, attachment="sticker")


def read_link(address: str, message_id: str | None, message: dict[str, Any]) -> BotUpdate:
    """A shared link (one source only): any words with it are read like a caption."""
    text = message.get("text")
    words = cap_input(text) if isinstance(text, str) and text.strip() else caption_of(message)
    return BotUpdate(address, message_id, text=words, attachment="link")


def read_unsupported(address: str, message_id: str | None, message: dict[str, Any]) -> BotUpdate:
    """Files, GIFs, locations, contact cards...: Zalo sends no content at all."""
    return BotUpdate(address, message_id, attachment="other")


#: Message events and their readers. ``message.voice.received`` and
#: ``message.link.received`` are seen in clients of the platform, not in the
#: copy of its documentation (docs/zalo-api.md).
READERS: dict[str, Reader] = {
    TEXT_EVENT: read_text,
    "message.image.received": read_photo,
    "message.voice.received": read_voice,
    "message.sticker.received": read_sticker,
    "message.link.received": read_link,
    "message.unsupported.received": read_unsupported,
}


def parse_update(data: Any, team_groups: frozenset[str] = frozenset()) -> BotUpdate | None:
    """An update → what she did; None for bots, events the bot does not answer
    and group chats, except a text in one of ``team_groups`` (a team's Zalo
    group, where members take requests by writing "nhận K7Q2")."""
    if not isinstance(data, dict):
        raise BadUpdate("not an object")
    name = data.get("event_name")
    message = data.get("message")
    if not isinstance(message, dict):
        if isinstance(name, str):
            log.debug("zalo_bot: event without a message ignored")
            return None
        raise BadUpdate("no message")
    chat = message.get("chat")
    if not isinstance(chat, dict):
        raise BadUpdate("no chat")
    sender = message.get("from")
    if isinstance(sender, dict) and sender.get("is_bot") is True:
        return None
    if str(chat.get("chat_type") or "").upper() == "GROUP":
        return _team_group(message, chat, sender, team_groups)
    address = platform_id(chat.get("id"))
    if address is None:
        raise BadUpdate("no chat id")
    message_id = platform_id(message.get("message_id"))
    if name is None and isinstance(message.get("text"), str):
        name = TEXT_EVENT
    reader = READERS.get(str(name))
    if reader is None and _new_kind_of_message(name):
        reader = read_unsupported  # silence would look like a dead bot
    if reader is None:
        log.debug("zalo_bot: event %s ignored", str(name)[:40])
        return None
    return reader(address, message_id, message)


def _new_kind_of_message(name: Any) -> bool:
    """``message.<kind>.received`` for a kind this code does not know yet
    (reactions excepted: nobody expects an answer to one)."""
    return (
        isinstance(name, str)
        and name.startswith("message.")
        and name.endswith(".received")
        and "reaction" not in name
    )


def _team_group(
    message: dict[str, Any], chat: dict[str, Any], sender: Any, team_groups: frozenset[str]
) -> BotUpdate | None:
    group = platform_id(chat.get("id"))
    if group is None or group not in team_groups:
        log.debug("zalo_bot: group message ignored")
        return None
    who = platform_id(sender.get("id")) if isinstance(sender, dict) else None
    text = message.get("text")
    if who is None or not isinstance(text, str) or not text.strip():
        return None  # only a member's text can take a request
    return BotUpdate(
        group, platform_id(message.get("message_id")), text=cap_input(text), sender_id=who
    )

"""Bot Platform updates (webhook body or ``getUpdates`` result) read into an
:class:`~bot.channels.zalo.common.Inbound`. Pure functions, checked against
recorded updates."""

from __future__ import annotations

import logging
from typing import Any

from bot.channels.zalo.common import Inbound, platform_id
from bot.text_limits import cap_input

log = logging.getLogger(__name__)

MEDIA_EVENTS = {
    "message.image.received": "photo",
    "message.sticker.received": "sticker",
    "message.unsupported.received": "other",
}
TEXT_EVENT = "message.text.received"


class BadUpdate(ValueError):
    """The body is not an update we can read (answered 400)."""


#: What a Bot Platform update means (the same shape as an OA event).
BotUpdate = Inbound


def unwrap(data: Any) -> Any:
    """Webhook bodies come flat or wrapped in ``{ok, result}`` (A2 ❓): accept both."""
    if isinstance(data, dict) and "result" in data and "message" not in data:
        return data["result"]
    return data


def parse_update(data: Any, team_groups: frozenset[str] = frozenset()) -> BotUpdate | None:
    """An update → what she did; None for bots, events the bot does not answer
    and group chats, except a text in one of ``team_groups`` (a team's Zalo
    group, where members take requests by writing "nhận K7Q2")."""
    if not isinstance(data, dict):
        raise BadUpdate("not an object")
    message = data.get("message")
    if not isinstance(message, dict):
        raise BadUpdate("no message")
    name = data.get("event_name")
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
    if name in MEDIA_EVENTS:
        return BotUpdate(address, message_id, attachment=MEDIA_EVENTS[str(name)])
    if name == TEXT_EVENT or (name is None and isinstance(message.get("text"), str)):
        text = message.get("text")
        if not isinstance(text, str):
            raise BadUpdate("no text")
        if not text.strip():
            return None
        return BotUpdate(address, message_id, text=cap_input(text))
    log.debug("zalo_bot: event %s ignored", str(name)[:40])
    return None


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

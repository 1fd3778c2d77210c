"""What arrives on the Zalo OA webhook: the signature over the raw body and
the event itself, read into an :class:`~bot.channels.zalo.common.Inbound`.
Pure functions (no I/O), checked against recorded events."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from bot.channels.zalo.common import Inbound, platform_id
from bot.text_limits import cap_input

log = logging.getLogger(__name__)

TEXT_EVENTS = frozenset({"user_send_text"})
#: Non-text messages and the attachment kind each one is: she is answered that
#: the bot reads text only, and any words sent with it (``message.text``, the
#: caption) are read like a text. Zalo's "audio" is a voice note recorded in
#: the app (a music file arrives as ``user_send_file``).
MEDIA_EVENTS = {
    "user_send_image": "photo",
    "user_send_sticker": "sticker",
    "user_send_gif": "animation",
    "user_send_audio": "voice",
    "user_send_video": "video",
    "user_send_file": "document",
    "user_send_location": "location",
    "user_send_link": "link",
    "user_send_business_card": "contact",
}
#: Someone writing to the OA without following it. Replying needs another
#: endpoint that only one old (v2) sample shows, so the bot does not call it.
ANONYMOUS_EVENTS = frozenset({"anonymous_send_text"})
#: ``X-ZEvent-Signature``: ``mac=<hex>``; Zalo's documentation also writes
#: ``mac = <hex>``, and hex may come in either case.
_SIGNATURE = re.compile(r"\s*mac\s*=\s*([0-9A-Fa-f]{64})\s*")


#: She asked the OA to delete her data: erased like /xoa.
WITHDRAW_EVENT = "user_withdraw"
#: Where Zalo puts the person's id in its user events (messages: ``sender``;
#: follow/unfollow: ``follower``). The withdraw event's exact shape is not
#: documented publicly (docs/zalo-api.md): each place is tried in turn.
_USER_FIELDS = ("sender", "follower", "user")


class BadEvent(ValueError):
    """The body is not an event we can read (answered 400)."""


#: What an OA event means (the same shape as a Bot Platform update).
OAEvent = Inbound


@dataclass(frozen=True, slots=True)
class Unanswerable:
    """A message that reached the OA with no way to answer it. Nothing of it
    is kept: only its kind is counted."""

    kind: str


def _mac(app_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    """Lowercase hex SHA-256 of app id + raw body + timestamp + secret (docs/zalo-api.md, OA)."""
    return hashlib.sha256(
        app_id.encode() + raw_body + timestamp.encode() + secret.encode()
    ).hexdigest()


def signature(app_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    """The header as Zalo sends it: ``mac=`` + the hex digest."""
    return "mac=" + _mac(app_id, raw_body, timestamp, secret)


def given_mac(header: str) -> str | None:
    """The hex digest in a signature header, lower-cased; None if the header
    is not one of the documented forms (``mac=<hex>``, ``mac = <hex>``)."""
    match = _SIGNATURE.fullmatch(header)
    return match.group(1).lower() if match else None


class SignatureCheck:
    """Which secret signs the events is uncertain (docs/zalo-api.md): the OA
    secret key by default, ``ZALO_OA_SIGNATURE_SECRET=app_secret`` or ``either`` to change it.
    A failure that the other secret would have passed is logged with the
    setting to change, so a wrong guess shows up on the first event."""

    def __init__(
        self,
        app_id: str,
        *,
        oa_secret_key: str | None,
        app_secret: str | None,
        mode: str = "oa_secret_key",
        max_age: float = 300.0,
    ) -> None:
        self.app_id = app_id
        self.max_age = max_age
        named = {"oa_secret_key": oa_secret_key, "app_secret": app_secret}
        chosen = list(named) if mode == "either" else [mode]
        self.secrets = [s for n in chosen if (s := named.get(n))]
        self.others = {n: s for n, s in named.items() if n not in chosen and s}
        if not self.secrets:
            log.error("zalo_oa: no signing secret configured: every webhook call is refused")

    def valid(self, raw_body: bytes, timestamp: str, given: str) -> bool:
        """The documented forms of the header, checked in constant time with
        the configured secret; a refusal is logged at WARNING (no ids)."""
        hex_given = given_mac(given)
        if hex_given is None:
            log.warning("zalo_oa: signature header malformed: event refused")
            return False
        given_b = hex_given.encode()
        ok = False
        for secret in self.secrets:
            expected = _mac(self.app_id, raw_body, timestamp, secret).encode()
            ok |= hmac.compare_digest(expected, given_b)
        if ok:
            return True
        for name, secret in self.others.items():
            expected = _mac(self.app_id, raw_body, timestamp, secret).encode()
            if hmac.compare_digest(expected, given_b):
                log.warning(
                    "zalo_oa: event signed with the %s, not the configured secret: "
                    "set ZALO_OA_SIGNATURE_SECRET=%s",
                    name.replace("_", " "),
                    name,
                )
        log.warning("zalo_oa: signature does not match: event refused")
        return False

    def fresh(self, timestamp: str, now: float | None = None) -> bool:
        """Events older (or further in the future) than ``max_age`` seconds are
        refused, so a captured event cannot be replayed later. 0 turns it off."""
        if self.max_age <= 0:
            return True
        try:
            sent = int(timestamp) / 1000.0
        except ValueError:
            return False
        now = time.time() if now is None else now
        return abs(now - sent) <= self.max_age


def attachment_url(message: dict[str, Any]) -> str | None:
    """The media URL of the first attachment (``attachments[].payload.url``,
    the shape community clients read; unconfirmed for audio, docs/zalo-api.md), or None."""
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return None
    first = attachments[0]
    payload = first.get("payload") if isinstance(first, dict) else None
    url = payload.get("url") if isinstance(payload, dict) else None
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    return None


def parse_event(data: dict[str, Any]) -> OAEvent | Unanswerable | None:
    """An event → what she did; :class:`Unanswerable` for an anonymous chat;
    None for events the bot does not answer (receipts, follows, the OA's own
    messages, unknown names)."""
    name = data.get("event_name")
    if not isinstance(name, str):
        raise BadEvent("no event_name")
    if name in ANONYMOUS_EVENTS:
        return Unanswerable("anonymous")
    if name not in TEXT_EVENTS and name not in MEDIA_EVENTS:
        log.debug("zalo_oa: event %s ignored", name[:40])
        return None
    sender = data.get("sender")
    message = data.get("message")
    address = platform_id(sender.get("id")) if isinstance(sender, dict) else None
    if address is None or not isinstance(message, dict):
        raise BadEvent("no sender id or message")
    message_id = platform_id(message.get("msg_id"))
    if name == "user_send_audio":
        return read_voice(address, message_id, message)
    if name in MEDIA_EVENTS:
        return read_media(address, message_id, message, MEDIA_EVENTS[name])
    return read_text(address, message_id, message)


def read_text(address: str, message_id: str | None, message: dict[str, Any]) -> OAEvent | None:
    text = message.get("text")
    if not isinstance(text, str):
        raise BadEvent("no text")
    if not text.strip():
        return None
    return OAEvent(address, message_id, text=cap_input(text))


def read_media(address: str, message_id: str | None, message: dict[str, Any], kind: str) -> OAEvent:
    """Images, videos, files... with ``message.text`` as the caption."""
    return OAEvent(address, message_id, text=caption_of(message), attachment=kind)


def read_voice(address: str, message_id: str | None, message: dict[str, Any]) -> OAEvent:
    """A voice note: its media URL goes along for the transcriber (fetched into
    memory only); without speech recognition she is told the bot reads text."""
    return OAEvent(
        address,
        message_id,
        text=caption_of(message),
        attachment=MEDIA_EVENTS["user_send_audio"],
        audio_url=attachment_url(message),
    )


def caption_of(message: dict[str, Any]) -> str | None:
    """The words sent with an attachment, capped; None if there are none."""
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return cap_input(text)
    return None


def withdrawn_user(data: dict[str, Any]) -> str | None:
    """The OA-scoped id of the person in a ``user_withdraw`` event; None for
    every other event. Raises :class:`BadEvent` if the event names nobody."""
    if data.get("event_name") != WITHDRAW_EVENT:
        return None
    for name in _USER_FIELDS:
        holder = data.get(name)
        if isinstance(holder, dict) and (found := platform_id(holder.get("id"))):
            return found
    found = platform_id(data.get("user_id"))
    if found is None:
        raise BadEvent("withdraw event without a user id")
    return found

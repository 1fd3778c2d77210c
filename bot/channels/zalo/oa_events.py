"""What arrives on the Zalo OA webhook: the signature over the raw body and
the event itself, read into an :class:`~bot.channels.zalo.common.Inbound`.
Pure functions (no I/O), checked against recorded events."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

from bot.channels.zalo.common import Inbound, platform_id
from bot.text_limits import cap_input

log = logging.getLogger(__name__)

TEXT_EVENTS = frozenset({"user_send_text"})
#: Non-text messages: the runner answers that the bot reads text only.
MEDIA_EVENTS = {
    "user_send_image": "photo",
    "user_send_sticker": "sticker",
    "user_send_gif": "animation",
    "user_send_audio": "audio",
    "user_send_video": "video",
    "user_send_file": "document",
    "user_send_location": "location",
    "user_send_link": "link",
    "user_send_business_card": "contact",
}


class BadEvent(ValueError):
    """The body is not an event we can read (answered 400)."""


#: What an OA event means (the same shape as a Bot Platform update).
OAEvent = Inbound


def signature(app_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    """``mac=`` + hex SHA-256 of app id + raw body + timestamp + secret (A1)."""
    digest = hashlib.sha256(
        app_id.encode() + raw_body + timestamp.encode() + secret.encode()
    ).hexdigest()
    return "mac=" + digest


class SignatureCheck:
    """Which secret signs the events is uncertain (A1 ❓): the OA secret key by
    default, ``ZALO_OA_SIGNATURE_SECRET=app_secret`` or ``either`` to change it.
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
        given_b = given.strip().encode()
        ok = False
        for secret in self.secrets:
            expected = signature(self.app_id, raw_body, timestamp, secret).encode()
            ok |= hmac.compare_digest(expected, given_b)
        if not ok:
            for name, secret in self.others.items():
                expected = signature(self.app_id, raw_body, timestamp, secret).encode()
                if hmac.compare_digest(expected, given_b):
                    log.warning(
                        "zalo_oa: event signed with the %s, not the configured secret: "
                        "set ZALO_OA_SIGNATURE_SECRET=%s",
                        name.replace("_", " "),
                        name,
                    )
        return ok

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
    the shape community clients read; A1 ❓ for audio), or None."""
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return None
    first = attachments[0]
    payload = first.get("payload") if isinstance(first, dict) else None
    url = payload.get("url") if isinstance(payload, dict) else None
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    return None


def parse_event(data: dict[str, Any]) -> OAEvent | None:
    """An event → what she did, or None for events the bot does not answer
    (receipts, follows, the OA's own messages, unknown names)."""
    name = data.get("event_name")
    if not isinstance(name, str):
        raise BadEvent("no event_name")
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
        return OAEvent(address, message_id, attachment="voice", audio_url=attachment_url(message))
    if name in MEDIA_EVENTS:
        return OAEvent(address, message_id, attachment=MEDIA_EVENTS[name])
    text = message.get("text")
    if not isinstance(text, str):
        raise BadEvent("no text")
    if not text.strip():
        return None
    return OAEvent(address, message_id, text=cap_input(text))

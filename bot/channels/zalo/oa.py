"""The Zalo Official Account channel: signed webhook in, ``message/cs`` out.

``POST /zalo/oa/webhook`` checks ``X-ZEvent-Signature`` over the raw body
(A1), answers 200 at once (Zalo wants an answer within 2 seconds) and handles
the event in the background, one person's events in arrival order. Redelivered
events are answered once: ``msg_id`` is the engine's dedupe key.

Only translation lives here. The API client is in ``oa_api``, the token
pair in ``oa_tokens``, the error table in ``errors``, what OA shares with the
Bot Platform in ``common``, ``options`` and ``sender``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.channels.zalo.common import MAX_TEXT, Inbound, Turns, platform_id, with_options
from bot.channels.zalo.oa_api import MAX_BUTTONS, ZaloOAClient
from bot.channels.zalo.oa_tokens import ZaloOATokens, keep_fresh
from bot.channels.zalo.options import OptionsStore, add_options_purge
from bot.channels.zalo.sender import ZaloSender
from bot.engine import Engine
from bot.messages import Outgoing
from bot.outbox import Outbox
from bot.store.db import Database
from bot.text_limits import cap_input, split_text

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
ROUTE = "/zalo/oa/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"

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
    if name in MEDIA_EVENTS:
        return OAEvent(address, message_id, attachment=MEDIA_EVENTS[name])
    text = message.get("text")
    if not isinstance(text, str):
        raise BadEvent("no text")
    if not text.strip():
        return None
    return OAEvent(address, message_id, text=cap_input(text))


class ZaloOASender(ZaloSender):
    """Up to five buttons become Zalo's template buttons on the last piece of
    text; more become numbered options in the text (A1: at most 5 buttons)."""

    channel = CHANNEL

    def __init__(
        self, client: ZaloOAClient, db: Database, outbox: Outbox, options: OptionsStore
    ) -> None:
        super().__init__(db, outbox, options)
        self.client = client

    async def _deliver(self, address: str, message: Outgoing) -> tuple[list[str], bool]:
        buttons = message.buttons
        as_numbers = len(buttons) > MAX_BUTTONS
        text = message.text
        if as_numbers:
            text = with_options(text, buttons)
        pieces = split_text(text, MAX_TEXT) or ["…"]
        ids: list[str] = []
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            template = buttons if last and buttons and not as_numbers else None
            ids.append(await self.client.send(address, piece, template))
        return [i for i in ids if i], as_numbers


class ZaloOAChannel:
    name = CHANNEL

    def __init__(
        self,
        engine: Engine,
        sender: ZaloOASender,
        options: OptionsStore,
        check: SignatureCheck,
    ) -> None:
        self.engine = engine
        self._sender = sender
        self.options = options
        self.check = check
        self.turns = Turns(CHANNEL, engine, sender, options)
        self.work = self.turns.intake
        self._token_task: asyncio.Task[None] | None = None

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> ZaloOAChannel:
        s = runtime.settings
        assert s.zalo_app_id, "settings.zalo_oa_enabled requires ZALO_APP_ID"
        tokens = ZaloOATokens(
            runtime.db,
            runtime.keyring,
            app_id=s.zalo_app_id,
            app_secret=s.zalo_app_secret,
            oauth_base_url=s.zalo_oauth_base_url,
            initial_access_token=s.zalo_oa_access_token,
            initial_refresh_token=s.zalo_oa_refresh_token,
        )
        client = ZaloOAClient(tokens, api_base_url=s.zalo_oa_api_base_url)
        options = OptionsStore(runtime.db, runtime.keyring, CHANNEL)
        sender = ZaloOASender(client, runtime.db, runtime.outbox, options)
        check = SignatureCheck(
            s.zalo_app_id,
            oa_secret_key=s.zalo_oa_secret_key,
            app_secret=s.zalo_app_secret,
            mode=s.zalo_oa_signature_secret,
            max_age=s.zalo_oa_signature_max_age,
        )
        add_options_purge(runtime)
        return cls(runtime.engine, sender, options, check)

    @property
    def sender(self) -> ZaloOASender:
        return self._sender

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.webhook)

    async def start(self) -> None:
        self._token_task = asyncio.create_task(
            keep_fresh(self._sender.client.tokens), name="zalo_oa_tokens"
        )
        log.info("zalo_oa: webhook at %s", ROUTE)

    async def stop(self) -> None:
        task, self._token_task = self._token_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.work.close()
        await self._sender.client.close()

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            log.info("zalo_oa: webhook call without signature refused")
            return web.Response(status=403)
        raw = await request.read()
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise BadEvent("not an object")
            timestamp = platform_id(data.get("timestamp"))
            if timestamp is None:
                raise BadEvent("no timestamp")
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        if not self.check.valid(raw, timestamp, given):
            if platform_id(data.get("app_id")) not in (None, self.check.app_id):
                log.warning("zalo_oa: event for another app id (check ZALO_APP_ID)")
            log.info("zalo_oa: webhook call with a wrong signature refused")
            return web.Response(status=403)
        if not self.check.fresh(timestamp):
            log.info("zalo_oa: stale webhook call refused")
            return web.Response(status=403)
        try:
            event = parse_event(data)
        except BadEvent:
            return web.Response(status=400)
        if event is not None:
            self.turns.submit(event)
        return web.Response(status=200)

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
import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.channels.zalo.common import MAX_TEXT, Turns, platform_id, with_options
from bot.channels.zalo.oa_api import MAX_BUTTONS, ZaloOAClient
from bot.channels.zalo.oa_events import BadEvent, SignatureCheck, parse_event
from bot.channels.zalo.oa_tokens import ZaloOATokens, keep_fresh
from bot.channels.zalo.options import OptionsStore, add_options_purge
from bot.channels.zalo.sender import ZaloSender
from bot.engine import Engine
from bot.messages import Outgoing
from bot.outbox import Outbox
from bot.store.db import Database
from bot.text_limits import split_text

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
ROUTE = "/zalo/oa/webhook"
SIGNATURE_HEADER = "X-ZEvent-Signature"


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
        sender.pace(s.zalo_rate_limit)
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

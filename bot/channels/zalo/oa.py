"""The Zalo Official Account channel: signed webhook in, ``message/cs`` out.

``POST /zalo/oa/webhook`` checks ``X-ZEvent-Signature`` over the raw body
(docs/zalo-api.md, OA), answers 200 at once (Zalo wants an answer within 2 seconds) and handles
the event in the background, one person's events in arrival order. Redelivered
events are answered once: ``msg_id`` is the engine's dedupe key.

Only translation lives here. The API client is in ``oa_api``, the token
pair in ``oa_tokens``, the error table in ``errors``, what OA shares with the
Bot Platform in ``common``, ``options`` and ``sender``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import TYPE_CHECKING

from aiohttp import web

from bot.channels.webhooks import MAX_WEBHOOK_BODY, BadBody, parse_object, read_body
from bot.channels.zalo.common import MAX_TEXT, Turns, platform_id, with_options
from bot.channels.zalo.oa_api import MAX_BUTTONS, ZaloOAClient
from bot.channels.zalo.oa_events import (
    BadEvent,
    OAEvent,
    SignatureCheck,
    Unanswerable,
    parse_event,
    withdrawn_user,
)
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
    text; more become numbered options in the text (docs/zalo-api.md: at most 5 buttons)."""

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

    def _forget(self, address: str) -> None:
        """Her request to the OA to delete her data: erased like /xoa, in her
        turn order, tried again while the database is away."""

        async def erase() -> None:
            await self.work.retry(lambda: self.engine.forget_person(CHANNEL, address))

        self.work.submit(address, erase)

    async def webhook(self, request: web.Request) -> web.Response:
        """The signature covers the raw body and the event's ``timestamp``, so
        the timestamp is found in the raw bytes and the signature checked
        before any JSON is parsed; the parsed event must then carry that same
        timestamp."""
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            log.warning("zalo_oa: webhook call without signature refused")
            return web.Response(status=403)
        try:
            raw = await read_body(request)
        except BadBody as bad:
            return web.Response(status=bad.status)
        signed = next(
            (t for t in _timestamps(raw) if self.check.valid(raw, t, given)),
            None,
        )
        if signed is None:
            app_ids = {m.group(1).decode("ascii") for m in _APP_ID.finditer(raw[:4096])}
            if app_ids and self.check.app_id not in app_ids:
                log.warning("zalo_oa: event for another app id (check ZALO_APP_ID)")
            log.warning("zalo_oa: webhook call with a wrong signature refused")
            return web.Response(status=403)
        if not self.check.fresh(signed):
            log.warning("zalo_oa: stale webhook call refused")
            return web.Response(status=403)
        try:
            data = parse_object(raw)
        except BadBody as bad:
            return web.Response(status=bad.status)
        if platform_id(data.get("timestamp")) != signed:
            return web.Response(status=400)
        try:
            withdrawn = withdrawn_user(data)
            event = parse_event(data) if withdrawn is None else None
        except (BadEvent, TypeError, RecursionError):
            return web.Response(status=400)
        if withdrawn is not None:
            self._forget(withdrawn)
        self._dispatch(event)
        return web.Response(status=200)

    def _dispatch(self, event: OAEvent | Unanswerable | None) -> None:
        """Her message to the engine; an anonymous chat, which the bot cannot
        answer, is only counted (no text, no id in the log)."""
        if isinstance(event, Unanswerable):
            self.engine.metrics.unanswerable_message(CHANNEL, event.kind)
            log.info("zalo_oa: %s message cannot be answered: not read", event.kind)
        elif event is not None:
            self.turns.submit(event)


#: ``"timestamp": "1700000000000"`` or ``"timestamp": 1700000000000`` in the raw body.
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')


_APP_ID = re.compile(rb'"app_id"\s*:\s*"?(\w{1,40})"?')


def _timestamps(raw: bytes) -> list[str]:
    """Candidate timestamps in the raw body (a few at most: a nested field of
    the same name may come first); only the one the signature covers counts."""
    return [m.group(1).decode("ascii") for m in _TIMESTAMP.finditer(raw[:MAX_WEBHOOK_BODY])][:4]

"""The Zalo Bot Platform channel (the Telegram-like API, docs/zalo-api.md).

With ``ZALO_BOT_WEBHOOK_URL`` it sets a webhook with a secret token and serves
``POST /zalo/bot/webhook``; without, it long-polls ``getUpdates`` in a
background task. Either way one person's updates are handled in arrival
order, group chats other than a team's are ignored, and replies are plain text: the platform
documents no buttons, so choices are numbered options answered by number or
label (``common``, ``options``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.channels.webhooks import BadBody, read_object, secret_matches
from bot.channels.zalo.bot_api import ZaloBotClient, ZaloBotError
from bot.channels.zalo.bot_updates import BadUpdate, BotUpdate, parse_update, unwrap
from bot.channels.zalo.common import MAX_TEXT, Turns, platform_id, with_options
from bot.channels.zalo.errors import bot_error
from bot.channels.zalo.options import OptionsStore, add_options_purge
from bot.channels.zalo.sender import ZaloSender
from bot.engine import Engine
from bot.interfaces import DeliveryError, Failure
from bot.messages import Outgoing
from bot.outbox import Outbox
from bot.store.db import Database
from bot.text_limits import split_text

if TYPE_CHECKING:
    from bot.crypto import KeyRing
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "zalo_bot"
ROUTE = "/zalo/bot/webhook"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
#: ``getUpdates`` answers 408 when the long poll ended without an update
#: (docs/zalo-api.md, Bot Platform).
NO_UPDATE = 408
MAX_POLL_BACKOFF = 60.0


class ZaloBotSender(ZaloSender):
    """Text only (``sendMessage``); buttons always become numbered options."""

    channel = CHANNEL

    def __init__(
        self, client: ZaloBotClient, db: Database, outbox: Outbox, options: OptionsStore
    ) -> None:
        super().__init__(db, outbox, options)
        self.client = client

    async def _deliver(self, address: str, message: Outgoing) -> tuple[list[str], bool]:
        text = message.text
        if message.buttons:
            text = with_options(text, message.buttons)
        ids: list[str] = []
        for piece in split_text(text, MAX_TEXT):
            try:
                result = await self.client.call("sendMessage", {"chat_id": address, "text": piece})
            except ZaloBotError as exc:
                raise bot_error(exc.code) from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DeliveryError(Failure.CONNECTION, f"zalo_bot: {type(exc).__name__}") from None
            if isinstance(result, dict) and platform_id(result.get("message_id")):
                ids.append(str(result["message_id"]))
        return ids, bool(message.buttons)


def webhook_secret(keyring: KeyRing) -> str:
    """The ``secret_token`` for ``setWebhook`` when ``ZALO_BOT_WEBHOOK_SECRET`` is
    not set: derived from ``HELPLINE_SECRET_KEY``, so it is unguessable and the
    same in every process behind a load balancer (a random one per process would
    make all but the last process refuse Zalo's calls)."""
    return keyring.digest("zalo-bot-webhook-secret")[:48]


class ZaloBotChannel:
    name = CHANNEL

    def __init__(
        self,
        engine: Engine,
        sender: ZaloBotSender,
        options: OptionsStore,
        *,
        webhook_url: str | None,
        secret_token: str,
        poll_timeout: int = 30,
    ) -> None:
        self.engine = engine
        self._sender = sender
        self.client = sender.client
        self.options = options
        self.webhook_url = webhook_url
        self.secret_token = secret_token
        self.poll_timeout = poll_timeout
        self.turns = Turns(CHANNEL, engine, sender, options)
        self.work = self.turns.intake
        self._poller: asyncio.Task[None] | None = None

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> ZaloBotChannel:
        s = runtime.settings
        assert s.zalo_bot_token
        client = ZaloBotClient(s.zalo_bot_token, s.zalo_bot_api_base_url)
        options = OptionsStore(runtime.db, runtime.keyring, CHANNEL)
        sender = ZaloBotSender(client, runtime.db, runtime.outbox, options)
        sender.pace(s.zalo_rate_limit)
        add_options_purge(runtime)
        return cls(
            runtime.engine,
            sender,
            options,
            webhook_url=s.zalo_bot_webhook_url,
            secret_token=s.zalo_bot_webhook_secret or webhook_secret(runtime.keyring),
            poll_timeout=s.zalo_bot_poll_timeout,
        )

    @property
    def sender(self) -> ZaloBotSender:
        return self._sender

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    def add_routes(self, app: web.Application) -> None:
        if self.webhook_url:
            app.router.add_post(ROUTE, self.webhook)

    async def start(self) -> None:
        """Check the token, then set the webhook or start polling. Zalo being
        unreachable is logged, not fatal: the web chat and other channels go on."""
        try:
            await self.client.call("getMe")
        except (ZaloBotError, aiohttp.ClientError, TimeoutError) as exc:
            log.error("zalo_bot: getMe failed (%s)", _why(exc))
        if self.webhook_url:
            try:
                await self.client.call(
                    "setWebhook", {"url": self.webhook_url, "secret_token": self.secret_token}
                )
                log.info("zalo_bot: webhook set")
            except (ZaloBotError, aiohttp.ClientError, TimeoutError) as exc:
                log.error("zalo_bot: setWebhook failed (%s)", _why(exc))
            return
        with contextlib.suppress(ZaloBotError, aiohttp.ClientError, TimeoutError):
            await self.client.call("deleteWebhook")  # polling and a webhook exclude each other
        self._poller = asyncio.create_task(self._poll(), name="zalo_bot")
        log.info("zalo_bot: polling")

    async def stop(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        await self.work.close()
        await self.client.close()

    async def _poll(self) -> None:
        """One update per call, no offset (docs/zalo-api.md, Bot Platform); 408
        means none came. Errors back off exponentially (with jitter) up to a minute."""
        delay = 1.0
        while True:
            try:
                result = await self.client.call(
                    "getUpdates",
                    {"timeout": str(self.poll_timeout)},
                    seconds=self.poll_timeout + 10,
                )
            except ZaloBotError as exc:
                if exc.code == NO_UPDATE:
                    delay = 1.0
                    continue
                await self._pause(f"error {exc.code}", delay)
                delay = min(delay * 2, MAX_POLL_BACKOFF)
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                await self._pause(type(exc).__name__, delay)
                delay = min(delay * 2, MAX_POLL_BACKOFF)
                continue
            delay = 1.0
            for update in result if isinstance(result, list) else [result]:
                try:
                    parsed = parse_update(update, self.team_groups())
                except BadUpdate:
                    self.engine.metrics.unreadable_update(CHANNEL)
                    log.info("zalo_bot: unreadable update skipped")
                    continue
                if parsed is not None:
                    self._submit(parsed)

    async def _pause(self, why: str, delay: float) -> None:
        wait = delay * (0.75 + random.random() / 2)
        log.warning("zalo_bot: getUpdates failed (%s); retry in %.1fs", why, wait)
        await asyncio.sleep(wait)

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret_matches(given, self.secret_token):
            log.info("zalo_bot: webhook call with a wrong secret refused")
            return web.Response(status=403)
        try:
            parsed = parse_update(unwrap(await read_object(request)), self.team_groups())
        except BadBody as bad:
            return web.Response(status=bad.status)
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
            return web.Response(status=400)
        if parsed is not None:
            self._submit(parsed)
        return web.Response(status=200)

    def team_groups(self) -> frozenset[str]:
        """The teams' Zalo groups: messages there go to the team side (members
        write "nhận K7Q2"); any other group is ignored."""
        handoff = self.engine.handoff
        return frozenset(handoff.team_group_ids(CHANNEL)) if handoff is not None else frozenset()

    def _submit(self, update: BotUpdate) -> None:
        self.turns.submit(update)


def _why(exc: BaseException) -> str:
    return f"error {exc.code}" if isinstance(exc, ZaloBotError) else type(exc).__name__

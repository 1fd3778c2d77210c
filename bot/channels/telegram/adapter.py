"""The Telegram channel on python-telegram-bot 22: updates in, Bot API calls out.

It runs in the same event loop as the aiohttp app. Without
``TELEGRAM_WEBHOOK_URL`` it long-polls with PTB's updater; with it, it sets a
webhook with a secret token and serves ``POST <path of the URL>`` on the
aiohttp app, answering 200 only once the update is handled and stored, 500 if
the engine failed (Telegram then redelivers; the engine dedupes), 403 for a
wrong secret.

Only translation lives here: see ``convert`` for update → Incoming and
``render`` for Outgoing → Bot API. Polled updates run through the shared
:mod:`bot.channels.intake` (one chat's updates in order, retried while the
database is down); a reply that cannot be sent follows the shared rule of
:mod:`bot.channels.replies`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, BotCommand, ChatMemberUpdated, Message, Update
from telegram.error import NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.channels.intake import Backoff, Intake
from bot.channels.pacing import urgent_sends
from bot.channels.replies import FailedReplies
from bot.channels.telegram.convert import CHANNEL, Translated, translate
from bot.channels.telegram.errors import delivery_error
from bot.channels.telegram.http import AiohttpRequest
from bot.channels.telegram.ratelimit import PriorityRateLimiter
from bot.channels.telegram.render import MAX_ALERT, as_int_ids, delete_recent, send_outgoing
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.updates import TolerantBot, read_update, update_id_of
from bot.channels.webhooks import BadBody, read_object, secret_matches
from bot.engine import Engine
from bot.messages import Outgoing, VoiceClip
from bot.outbox import Outbox

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
#: Polling: how often an update that failed (database down) is tried again
#: before it is given up, and the longest pause between tries.
BACKOFF = Backoff(attempts=20, first_delay=0.5, factor=2.0, max_delay=30.0)
#: Polling: updates of different chats handled at the same time.
MAX_CONCURRENT_CHATS = 32
#: Direct replies: extra tries after a network error (flood waits are retried
#: by PTB's AIORateLimiter).
REPLY_NETWORK_RETRIES = 2

#: The command menu, in the bot's two languages. Neutral words: the list is
#: visible on her screen.
COMMANDS: dict[str, list[tuple[str, str]]] = {
    "vi": [
        ("start", "Bắt đầu"),
        ("menu", "Danh mục"),
        ("help", "Trợ giúp"),
        ("lang", "Đổi ngôn ngữ / Language"),
        ("privacy", "Quyền riêng tư"),
        ("xoa", "Xóa dữ liệu và tin nhắn"),
        ("stop", "Dừng"),
    ],
    "en": [
        ("start", "Start"),
        ("menu", "Menu"),
        ("help", "Help"),
        ("lang", "Language / Đổi ngôn ngữ"),
        ("privacy", "Privacy"),
        ("erase", "Delete my data and messages"),
        ("stop", "Stop"),
    ],
}

TeamGroups = Callable[[], Awaitable[set[str]]]


def webhook_secret(secret_key: str) -> str:
    """The ``secret_token`` given to ``setWebhook``.

    Derived from ``HELPLINE_SECRET_KEY`` rather than drawn at random per start,
    so that N processes behind a load balancer (docs/design.md, Scale) all accept
    Telegram's calls whichever process set the webhook last. Unguessable
    without the key; changes when the key rotates. Characters: A-Z a-z 0-9 _ -.
    """
    digest = hmac.new(secret_key.encode(), b"telegram-webhook-secret", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def webhook_path(url: str | None) -> str:
    """The route to serve: the path of ``TELEGRAM_WEBHOOK_URL`` (behind a reverse
    proxy that forwards it unchanged), or ``/telegram/webhook``."""
    path = urlsplit(url).path if url else ""
    return path if path and path != "/" else DEFAULT_WEBHOOK_PATH


def team_groups_of(engine: Engine) -> TeamGroups:
    """Group chats the bot stays in: the team groups of the teams file
    (``Handoff.team_group_ids``). Without a handoff service every group is
    unknown and the bot leaves it."""

    async def ids() -> set[str]:
        handoff = engine.handoff
        return handoff.team_group_ids() if handoff is not None else set()

    return ids


def file_base_url(base_url: str) -> str | None:
    """Where files are downloaded, next to the API (``…/bot`` → ``…/file/bot``),
    so a local Bot API server or stand-in serves both; None = PTB's default."""
    return base_url[: -len("bot")] + "file/bot" if base_url.endswith("/bot") else None


def voice_clip(bot: Bot, message: Message | None) -> VoiceClip | None:
    """A voice note (or an audio file) as a clip the transcriber downloads
    into memory through PTB (``getFile``, then the file URL), refused first by
    Telegram's own size and duration figures. Only a voice note can be sent on
    to a member by its ``file_id``."""
    if message is None:
        return None
    media = message.voice or message.audio
    if media is None:
        return None
    file_id = media.file_id

    async def download() -> bytearray:
        file = await bot.get_file(file_id)
        return await file.download_as_bytearray()

    length = media.duration  # seconds, or a timedelta in newer PTB settings
    seconds = length.total_seconds() if isinstance(length, timedelta) else float(length)
    return VoiceClip(
        download=download,
        size_hint=media.file_size,
        duration=seconds,
        forward_ref=file_id if message.voice is not None else None,
    )


def quiet_library_loggers() -> None:
    """PTB logs request parameters (texts, chat ids) at DEBUG and httpx logs
    URLs that contain the bot token at INFO: keep them at WARNING or above,
    whatever ``HELPLINE_LOG_LEVEL`` says (docs/design.md, promise 3)."""
    for name in ("telegram", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


class TelegramChannel:
    name = CHANNEL

    def __init__(
        self,
        engine: Engine,
        *,
        token: str,
        base_url: str = "https://api.telegram.org/bot",
        webhook_url: str | None = None,
        secret_token: str,
        poll_timeout: float = 10.0,
        team_groups: TeamGroups | None = None,
        rate_limit: float = 30.0,
        outbox: Outbox | None = None,
    ) -> None:
        self.engine = engine
        self.token = token
        self.base_url = base_url
        self.webhook_url = webhook_url
        self.secret_token = secret_token
        self.poll_timeout = poll_timeout
        self.rate_limit = rate_limit
        self.team_groups = team_groups or team_groups_of(engine)
        self._sender = TelegramSender()
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self.intake = Intake(CHANNEL, backoff=BACKOFF, max_parallel=MAX_CONCURRENT_CHATS)
        self.failed = FailedReplies(CHANNEL, engine.db, outbox or engine.outbox)

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> TelegramChannel:
        settings = runtime.settings
        assert settings.telegram_bot_token and settings.secret_key
        return cls(
            runtime.engine,
            token=settings.telegram_bot_token,
            base_url=settings.telegram_api_base_url,
            webhook_url=settings.telegram_webhook_url,
            secret_token=webhook_secret(settings.secret_key),
            rate_limit=settings.telegram_rate_limit,
            outbox=runtime.outbox,
        )

    @property
    def sender(self) -> TelegramSender:
        return self._sender

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"

    @property
    def busy(self) -> bool:
        """Polling: updates fetched but not yet handled (shutdown and tests wait on it)."""
        queued = self.app is not None and self.app.update_queue.qsize() > 0
        return queued or self.intake.busy

    async def wait_idle(self) -> None:
        """Return once every update fetched so far has been handled."""
        while self.busy:
            if self.intake.busy:
                await self.intake.wait()
            else:
                await asyncio.sleep(0)  # the consumer is taking the next one

    # -- lifecycle ---------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        if self.webhook_url:
            app.router.add_post(webhook_path(self.webhook_url), self.webhook)

    async def start(self) -> None:
        """Connect (getMe), register the commands, then set the webhook or start
        polling in the background: returns without blocking the loop."""
        quiet_library_loggers()
        # Voice notes are downloaded from the file URL beside the API URL.
        files = file_base_url(self.base_url)
        bot = TolerantBot(
            self.token,
            base_url=self.base_url,
            **({"base_file_url": files} if files is not None else {}),
            # aiohttp for the calls (bot/channels/telegram/http.py), one
            # connection for the long poll.
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(pool_size=1),
            rate_limiter=self._rate_limiter(),
            on_unreadable=self._unreadable,
        )
        builder = ApplicationBuilder().bot(bot)
        if self.webhook_url:
            builder = builder.updater(None)
        app = builder.build()
        await app.initialize()
        self.app = app
        self._sender.bot = app.bot
        await self._register_commands()
        if self.webhook_url:
            await app.bot.set_webhook(
                url=self.webhook_url,
                secret_token=self.secret_token,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram: webhook set")
            return
        assert app.updater is not None
        self._consumer = asyncio.create_task(self._consume(app.update_queue), name="telegram")
        await app.updater.start_polling(
            timeout=int(self.poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        log.info("telegram: polling")

    def _rate_limiter(self) -> PriorityRateLimiter:
        """Telegram's flood limits: overall messages per second (configurable;
        0 = uncapped, e.g. against a local Bot API server), danger answers
        first, and 20 per minute per group; a 429 is waited out and retried."""
        return PriorityRateLimiter(overall_max_rate=self.rate_limit, max_retries=2)

    async def stop(self) -> None:
        app = self.app
        if app is None:
            return
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        # Let updates already fetched finish: the updater has confirmed them.
        with contextlib.suppress(TimeoutError):
            # The consumer marks each update done once it is in the intake.
            await asyncio.wait_for(app.update_queue.join(), timeout=10)
        await self.intake.close(seconds=10)
        self.app = None
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
            self._consumer = None
        self._sender.bot = None
        await app.shutdown()

    async def _register_commands(self) -> None:
        assert self.app is not None
        bot = self.app.bot
        try:
            for language, commands in COMMANDS.items():
                listed = [BotCommand(c, d) for c, d in commands]
                await bot.set_my_commands(listed, language_code=language)
            # Everyone else (no or another language) sees the Vietnamese menu.
            await bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS["vi"]])
        except TelegramError as exc:
            log.warning("telegram: setMyCommands failed (%s)", type(exc).__name__)

    # -- webhook -----------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret_matches(given, self.secret_token):
            return web.Response(status=403)
        if self.app is None:
            return web.Response(status=503)
        try:
            data = await read_object(request)
        except BadBody as bad:
            return web.Response(status=bad.status)
        if update_id_of(data) is None:
            return web.Response(status=400)  # not an update: Telegram never sends this
        # An update PTB cannot read is acknowledged (200) and counted, never
        # refused: Telegram would retry a 4xx for hours.
        update = read_update(data, self.app.bot, self._unreadable)
        try:
            await self.handle_update(update)
        except Exception as exc:
            # Not acknowledged: Telegram redelivers, and the engine dedupes.
            log.warning("telegram: update not handled (%s)", type(exc).__name__)
            return web.Response(status=500)
        return web.Response(status=200)

    # -- polling -----------------------------------------------------------

    async def _consume(self, queue: asyncio.Queue[object]) -> None:
        """Take updates in arrival order; one chat's updates run one after the
        other, different chats in parallel."""
        while True:
            item = await queue.get()
            try:
                if isinstance(item, Update):
                    self._submit(item)
            finally:
                queue.task_done()

    def _submit(self, update: Update) -> None:
        try:
            chat = update.effective_chat
            key = chat.id if chat is not None else None
        except Exception:  # an update kind PTB cannot place: handle it on its own
            key = None
        self.intake.submit(key, functools.partial(self._handle_polled, update))

    async def _handle_polled(self, update: Update) -> None:
        """Polling has no 500 to make Telegram redeliver, so an update that
        failed (database down) is kept and tried again with backoff."""
        await self.intake.retry(lambda: self.handle_update(update))

    # -- one update ----------------------------------------------------------

    async def handle_update(self, update: Update) -> None:
        """Translate, ask the engine, render. Raises if the engine failed (the
        update is then not acknowledged); sending problems are logged only,
        because the turn is already stored."""
        assert self.app is not None
        bot = self.app.bot
        try:
            seen = translate(update, bot_username=bot.username)
        except Exception as exc:  # a shape PTB read but we cannot place
            log.warning("telegram: update not understood (%s)", type(exc).__name__)
            self._unreadable()
            return
        answered = False
        try:
            if seen.chat_id is None:
                return
            if seen.is_group and str(seen.chat_id) not in await self.team_groups():
                await self._leave(seen.chat_id, update.my_chat_member)
                return
            if seen.incoming is None:
                return  # edited messages, service messages: nothing to answer
            if seen.incoming.attachment in ("voice", "audio") and not seen.is_group:
                seen.incoming.voice = voice_clip(bot, update.message)
            replies = await self.engine.handle(seen.incoming)
            alert = None
            if seen.callback_id is not None:
                # A short alert answers the press as a pop-up; anything else is a message.
                alert = next((r for r in replies if r.alert and len(r.text) <= MAX_ALERT), None)
                answered = True
                await self._answer(seen.callback_id, alert)
            await self._reply(seen, [r for r in replies if r is not alert])
        finally:
            if seen.callback_id is not None and not answered:
                await self._answer(seen.callback_id, None)

    def _unreadable(self) -> None:
        self.engine.metrics.unreadable_update(CHANNEL)

    async def _answer(self, callback_id: str, alert: Outgoing | None) -> None:
        """Every button press is answered, or her button keeps spinning."""
        assert self.app is not None
        try:
            if alert is None:
                await self.app.bot.answer_callback_query(callback_id)
            else:
                await self.app.bot.answer_callback_query(
                    callback_id, text=alert.text, show_alert=True
                )
        except TelegramError as exc:
            log.info("telegram: callback not answered (%s)", type(exc).__name__)

    async def _reply(self, seen: Translated, replies: list[Outgoing]) -> None:
        """Send the replies in order and record her chat's message ids for erase,
        except after an erase: then nothing about her is recorded any more."""
        assert self.app is not None and seen.incoming is not None and seen.chat_id is not None
        bot = self.app.bot
        incoming = seen.incoming
        sent: list[int] = []
        erased = False
        if await self.failed.queue_if_behind(str(seen.chat_id), replies):
            replies = []  # they follow her earlier replies through the outbox
        for index, reply in enumerate(replies):
            if reply.clear_history:
                erased = True
                exchange = [seen.own_message_id, incoming.button_message_id]
                ids = as_int_ids([*reply.delete_ids, *exchange]) + sent
                await delete_recent(bot, seen.chat_id, ids)
            try:
                sent += await self._send(seen.chat_id, reply)
            except TelegramError as exc:
                rest = replies[index:]
                await self.failed.send_failed(str(seen.chat_id), rest, delivery_error(exc))
                break
        if erased or seen.is_group:
            return
        own = [seen.own_message_id] if seen.own_message_id is not None else []
        await self.engine.remember_message_ids(
            CHANNEL, incoming.address, [str(i) for i in own + sent]
        )

    async def _send(self, chat_id: int, reply: Outgoing) -> list[int]:
        assert self.app is not None
        for attempt in range(REPLY_NETWORK_RETRIES + 1):
            try:
                with urgent_sends(reply.urgent):
                    return await send_outgoing(self.app.bot, chat_id, reply)
            except RetryAfter:
                raise  # already waited out by the rate limiter
            except NetworkError:
                if attempt == REPLY_NETWORK_RETRIES:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
        return []

    async def _leave(self, chat_id: int, member: ChatMemberUpdated | None) -> None:
        """Not a team group: the bot does not stay where strangers could read it."""
        if member is not None and member.new_chat_member.status in {"left", "kicked"}:
            return  # it was removed; nothing to leave
        assert self.app is not None
        try:
            await self.app.bot.leave_chat(chat_id)
            log.info("telegram: left a group that is not a team group")
        except TelegramError as exc:
            log.info("telegram: could not leave a group (%s)", type(exc).__name__)


__all__ = ["TelegramChannel", "TelegramSender", "team_groups_of", "webhook_secret"]

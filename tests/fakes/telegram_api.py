"""A local stand-in for the Telegram Bot API, for tests and benchmarks.

It speaks what python-telegram-bot sends (``POST /bot<token>/<method>``,
form-urlencoded or JSON, non-string values JSON-encoded) and answers like
Telegram (``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code",
"description", "parameters"}`` with the matching HTTP status). It keeps each
chat's history — her messages and the bot's — so a test can check what is
left on her phone after an erase.

Usage::

    async with FakeTelegramAPI() as api:        # serves on 127.0.0.1:<random port>
        settings = make_settings(..., telegram_bot_token=api.token,
                                 telegram_api_base_url=api.base_url)
        ...
        update = api.user_message(1001, "xin chào")   # builds a real-shaped update
        await api.push_update(update)                 # served by getUpdates (polling)
        status = await api.deliver_webhook(update)    # or POSTed to the webhook set
        sent = await api.wait_for_messages(1001, 1)   # what the bot sent to that chat
        api.press(1001, sent[-1].message_id, sent[-1].payloads[0])  # a button press

Inspect: ``api.calls`` (every call: method + params), ``api.sent_to(chat)``,
``api.history(chat)`` (messages still in the chat), ``api.holds(chat, text)``
(is a piece of text still on that phone?), ``api.deleted``,
``api.callback_answers``, ``api.edits``, ``api.left_chats``, ``api.commands``,
``api.webhook``. Inject failures: ``api.fail("sendMessage", status=429,
retry_after=1)``, ``api.fail(..., status=500)``, ``api.block(chat_id)`` (403
"Forbidden: bot was blocked by the user" for every send to that chat),
``api.slow("sendMessage", 0.2)`` (every such call takes that long).

Time: ``api.advance(hours=49)`` ages every message as if that much time had
passed. As on Telegram, a bot deletes its own messages, and incoming ones in
private chats, only while they are younger than 48 hours: ``deleteMessages``
skips older ones and ``deleteMessage`` refuses them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

DEFAULT_TOKEN = "123456:TEST-token_for_the_fake_api"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Hỏi đáp",
    "username": "hoidap_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
#: Parameters PTB sends as plain strings; everything else is JSON-encoded.
STRING_PARAMS = frozenset(
    {
        "text",
        "url",
        "secret_token",
        "callback_query_id",
        "language_code",
        "parse_mode",
        "ip_address",
        "caption",
        "description",
        "short_description",
        "name",
        "inline_message_id",
    }
)
BLOCKED = "Forbidden: bot was blocked by the user"
SEND_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendPhoto", "copyMessage", "sendVoice"}
)
#: How long Telegram lets a bot delete a message (seconds).
DELETE_WINDOW = 48 * 3600


@dataclass
class Call:
    """One request the bot made: the method name and its decoded parameters."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class ChatMessage:
    """A message in a chat, hers or the bot's (``from_bot``)."""

    chat_id: int
    message_id: int
    from_bot: bool
    text: str | None
    params: dict[str, Any] = field(default_factory=dict)
    deleted: bool = False
    #: When it was sent, on the stand-in's clock (``time.time()`` + ``advance``).
    at: float = field(default_factory=time.time)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]

    @property
    def payloads(self) -> list[str]:
        return [data for _, data in self.buttons]

    @property
    def silent(self) -> bool:
        return bool(self.params.get("disable_notification"))

    @property
    def protected(self) -> bool:
        return bool(self.params.get("protect_content"))


@dataclass
class Failure:
    """An error to answer instead of the real result (see :meth:`FakeTelegramAPI.fail`)."""

    method: str
    status: int
    description: str
    retry_after: int | None
    times: int
    skip: int
    chat_id: int | None
    #: With ``every=N``: fail every Nth matching call, indefinitely.
    every: int = 0
    seen: int = 0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if method != self.method or self.times == 0:
            return False
        return self.chat_id is None or _int(params.get("chat_id")) == self.chat_id


class FakeTelegramAPI:
    """The Bot API on 127.0.0.1, one bot, in memory. Use as an async context manager."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.port = 0
        self.calls: list[Call] = []
        self.chats: dict[int, dict[int, ChatMessage]] = {}
        #: (chat_id, message_id) of every message deleted, in order.
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        self.left_chats: list[int] = []
        #: setMyCommands by language code ("" = default): [(command, description)].
        self.commands: dict[str, list[tuple[str, str]]] = {}
        #: The webhook set with setWebhook: {"url", "secret_token", ...}, or None.
        self.webhook: dict[str, Any] | None = None
        self.blocked: set[int] = set()
        #: Seconds added to the clock by ``advance`` (message ages).
        self.offset = 0.0
        self._failures: list[Failure] = []
        #: Seconds each call of a method takes (``slow``): a busy Telegram.
        self.latency: dict[str, float] = {}
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0  # highest update_id confirmed by an offset
        self._update_ids = itertools.count(10_000)
        self._callback_ids = itertools.count(900_000)
        self._next_id: dict[int, int] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        #: Files users sent (voice notes), by file_id: what getFile and the
        #: file download URL serve.
        self.files: dict[str, bytes] = {}
        #: file_ids downloaded through ``/file/bot<token>/<path>``, in order.
        self.downloads: list[str] = []
        self._file_ids = itertools.count(1)

    # -- server --------------------------------------------------------------

    async def start(self) -> FakeTelegramAPI:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        async with self._changed:  # end any long poll still waiting
            self._closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What to give PTB's ``base_url`` (``TELEGRAM_API_BASE_URL``)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Where files are downloaded (PTB's ``base_file_url``)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    def voice_message(
        self, chat_id: int, audio: bytes, *, duration: int = 2, **kwargs: Any
    ) -> dict[str, Any]:
        """A voice note update (OGG/Opus), its audio served by getFile."""
        number = next(self._file_ids)
        file_id = f"AwACAgIAAxkBAAI{number:08d}voice"
        self.files[file_id] = audio
        voice = {
            "file_id": file_id,
            "file_unique_id": f"AgAD{number:08d}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(audio),
        }
        return self.user_message(chat_id, voice=voice, **kwargs)

    # -- building updates ------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are shared by both sides of a chat, as in Telegram."""
        value = self._next_id.get(chat_id, 1)
        self._next_id[chat_id] = value + 1
        return value

    def user_message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        user_id: int | None = None,
        language_code: str = "vi",
        chat_type: str | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        """A ``message`` update as Telegram would send it. ``content`` adds other
        fields (``sticker={...}``, ``photo=[...]``, ``caption=...``)."""
        user = user_id if user_id is not None else chat_id
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "from": _user(user, language_code),
            "chat": _chat(chat_id, chat_type, user),
            "date": int(time.time()),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ", 1)[0])
                message["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        message.update(content)
        return {"update_id": next(self._update_ids), "message": message}

    def press(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        language_code: str = "vi",
    ) -> dict[str, Any]:
        """A ``callback_query`` update: someone pressed a button on ``message_id``."""
        user = user_id if user_id is not None else chat_id
        shown = self.chats.get(chat_id, {}).get(message_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": _chat(chat_id, None, user),
            "date": int(time.time()),
            "text": shown.text if shown and shown.text else "…",
        }
        if shown and shown.params.get("reply_markup"):
            message["reply_markup"] = shown.params["reply_markup"]
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": _user(user, language_code),
                "message": message,
                "chat_instance": f"ci{chat_id}",
                "data": data,
            },
        }

    def prepare(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make a recorded update (a fixture) new, as Telegram would number it:
        a fresh ``update_id`` and, for a new message, the chat's next message id
        (an edit keeps the id of the message it edits). Returns the same dict."""
        update["update_id"] = next(self._update_ids)
        message = update.get("message")
        if message is not None:
            message["message_id"] = self.next_message_id(int(message["chat"]["id"]))
        return update

    # -- delivering updates --------------------------------------------------

    async def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for ``getUpdates``; returns its ``update_id``."""
        if "update_id" not in update or update["update_id"] <= self._confirmed:
            update["update_id"] = next(self._update_ids)
        self._record_user_side(update)
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return int(update["update_id"])

    async def deliver_webhook(
        self, update: dict[str, Any], *, secret: str | None = None, url: str | None = None
    ) -> int:
        """POST the update to the webhook set with ``setWebhook``, as Telegram
        does (with ``X-Telegram-Bot-Api-Secret-Token``); returns the HTTP status.
        ``secret`` overrides the header (a forged call); ``url`` sends it to
        another process than the one that set the webhook last (a load balancer)."""
        assert self.webhook is not None, "setWebhook was not called"
        self._record_user_side(update)
        headers = {"Content-Type": "application/json"}
        token = secret if secret is not None else self.webhook.get("secret_token")
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url or self.webhook["url"], data=json.dumps(update), headers=headers
            ) as resp,
        ):
            return resp.status

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (by a later offset)."""
        return sum(1 for u in self._updates if u["update_id"] > self._confirmed)

    # -- inspecting -----------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[ChatMessage]:
        """Every message the bot sent to the chat (deleted ones included)."""
        return [m for m in self._chat(chat_id).values() if m.from_bot]

    def history(self, chat_id: int) -> list[ChatMessage]:
        """What is still in the chat, both sides, oldest first."""
        return [m for m in self._chat(chat_id).values() if not m.deleted]

    def holds(self, chat_id: int, text: str) -> bool:
        """Whether a piece of text is still in the chat (either side)."""
        return any(text in (m.text or "") for m in self.history(chat_id))

    def advance(self, *, hours: float) -> None:
        """Move the stand-in's clock: every message gets that much older."""
        self.offset += hours * 3600

    def now(self) -> float:
        return time.time() + self.offset

    async def wait_for_messages(
        self,
        chat_id: int,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109 (the documented API)
    ) -> list[ChatMessage]:
        """Wait until the bot has sent at least ``n`` messages to the chat."""
        await self.wait_until(lambda: len(self.sent_to(chat_id)) >= n, timeout)
        return self.sent_to(chat_id)

    async def wait_for_call(
        self,
        method: str,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        await self.wait_until(lambda: len(self.calls_to(method)) >= n, timeout)
        return self.calls_to(method)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> bool:
        """Wait for a condition on the recorded state; raises TimeoutError."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)
        return True

    # -- failures --------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (after skipping ``after``
        of them; optionally only for ``chat_id``) with an error. 429 gets
        ``parameters.retry_after``; use ``times=-1`` for "until cleared"."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after or 1}",
                403: BLOCKED,
                400: "Bad Request: something is wrong",
            }.get(status, "Internal Server Error")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._failures.append(
            Failure(method, status, description, retry_after, times, after, chat_id)
        )

    def fail_every(
        self, method: str, every: int, *, status: int = 500, retry_after: int | None = None
    ) -> None:
        """Answer every ``every``-th call of ``method`` with an error, until cleared
        (e.g. a 429 with ``retry_after`` on every fifth send)."""
        self.fail(method, status=status, retry_after=retry_after, times=-1)
        self._failures[-1].every = every

    def slow(self, method: str, seconds: float) -> None:
        """Make every call of ``method`` take ``seconds`` before it is answered
        (and recorded): 0 makes it fast again."""
        self.latency[method] = seconds

    def clear_failures(self) -> None:
        self._failures.clear()

    def block(self, chat_id: int) -> None:
        """She blocked the bot: every send to her chat gets 403."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    # -- the API ------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        if self.latency.get(method):
            await asyncio.sleep(self.latency[method])
        call = Call(method, params)
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        failure = self._failure_for(method, params)
        if failure is not None:
            return failure
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params)
        except ApiError as exc:
            return _error(exc.status, exc.description)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _failure_for(self, method: str, params: dict[str, Any]) -> web.Response | None:
        chat_id = _int(params.get("chat_id"))
        if method in SEND_METHODS and chat_id in self.blocked:
            return _error(403, BLOCKED)
        for failure in self._failures:
            if not failure.matches(method, params):
                continue
            if failure.every:
                failure.seen += 1
                if failure.seen % failure.every:
                    continue
            elif failure.skip > 0:
                failure.skip -= 1
                return None
            if failure.times > 0:
                failure.times -= 1
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.status, failure.description, extra)
        return None

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        async with self._changed:
            if offset:
                self._confirmed = max(self._confirmed, offset - 1)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._changed.notify_all()
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(lambda: bool(self._updates) or self._closing)
            except TimeoutError:
                return []
            return sorted(self._updates, key=lambda u: u["update_id"])[:limit]

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        if not str(params.get("url", "")).startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = dict(params)
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": self.pending_updates,
        }

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands") or []
        if not 0 < len(commands) <= 100:
            raise ApiError(400, "Bad Request: commands must be non-empty")
        self.commands[str(params.get("language_code") or "")] = [
            (c["command"], c["description"]) for c in commands
        ]
        return True

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = _int(params.get("chat_id"))
        text = str(params.get("text") or "")
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if markup is not None:
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and len(data.encode()) > 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        mid = self.next_message_id(chat_id)
        self._chat(chat_id)[mid] = ChatMessage(
            chat_id, mid, True, text, dict(params), at=self.now()
        )
        return self._message_json(chat_id, mid, text, markup)

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id[-12:],
            "file_size": len(self.files[file_id]),
            "file_path": f"voice/{file_id}.oga",
        }

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        name = request.match_info["path"].removeprefix("voice/").removesuffix(".oga")
        if name not in self.files:
            return web.Response(status=404)
        self.downloads.append(name)
        return web.Response(body=self.files[name], content_type="audio/ogg")

    async def _api_sendVoice(self, params: dict[str, Any]) -> Any:
        """A voice sent on by file_id (her own, forwarded to a member)."""
        chat_id = _int(params.get("chat_id"))
        voice = params.get("voice")
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        if not isinstance(voice, str) or voice not in self.files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = str(params.get("caption") or "")
        mid = self.next_message_id(chat_id)
        self._chat(chat_id)[mid] = ChatMessage(chat_id, mid, True, caption, dict(params))
        message = self._message_json(chat_id, mid, caption, params.get("reply_markup"))
        del message["text"]
        message["caption"] = caption
        message["voice"] = {"file_id": voice, "file_unique_id": voice[-12:], "duration": 1}
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        chat_id = _int(params.get("chat_id"))
        mid = _int(params.get("message_id"))
        shown = self.chats.get(chat_id or 0, {}).get(mid or 0)
        if chat_id is None or mid is None or shown is None or shown.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = str(params.get("text") or "")
        markup = params.get("reply_markup")
        if text == shown.text and markup == shown.params.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        self.edits.append(dict(params))
        shown.text = text
        shown.params = {**shown.params, "reply_markup": markup}
        return self._message_json(chat_id, mid, text, markup)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        self.callback_answers.append(dict(params))
        return True

    async def _api_deleteMessages(self, params: dict[str, Any]) -> Any:
        ids = params.get("message_ids") or []
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must contain 1-100 ids")
        chat_id = _int(params.get("chat_id"))
        for mid in ids:
            if self._deletable(chat_id or 0, int(mid)):
                self._delete(chat_id or 0, int(mid))
        return True

    async def _api_deleteMessage(self, params: dict[str, Any]) -> Any:
        chat_id, mid = _int(params.get("chat_id")), _int(params.get("message_id"))
        shown = self.chats.get(chat_id or 0, {}).get(mid or 0)
        if shown is None or shown.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        if not self._deletable(chat_id or 0, mid or 0):
            raise ApiError(400, "Bad Request: message can't be deleted")
        self._delete(chat_id or 0, mid or 0)
        return True

    async def _api_leaveChat(self, params: dict[str, Any]) -> Any:
        chat_id = _int(params.get("chat_id"))
        if chat_id is not None:
            self.left_chats.append(chat_id)
        return True

    async def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_logOut(self, params: dict[str, Any]) -> Any:
        return True

    # -- helpers --------------------------------------------------------------------

    def _chat(self, chat_id: int) -> dict[int, ChatMessage]:
        return self.chats.setdefault(chat_id, {})

    def _deletable(self, chat_id: int, mid: int) -> bool:
        """Younger than 48 hours, and in a group only the bot's own messages."""
        shown = self.chats.get(chat_id, {}).get(mid)
        if shown is None:
            return True  # unknown ids are skipped by _delete, as Telegram does
        if chat_id < 0 and not shown.from_bot:
            return False
        return self.now() - shown.at < DELETE_WINDOW

    def _delete(self, chat_id: int, mid: int) -> None:
        shown = self.chats.get(chat_id, {}).get(mid)
        if shown is not None and not shown.deleted:  # unknown ids are skipped, as Telegram does
            shown.deleted = True
            self.deleted.append((chat_id, mid))

    def _record_user_side(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if message is None:
            return
        chat_id, mid = int(message["chat"]["id"]), int(message["message_id"])
        self._next_id[chat_id] = max(self._next_id.get(chat_id, 1), mid + 1)
        if mid not in self._chat(chat_id):
            self._chat(chat_id)[mid] = ChatMessage(
                chat_id, mid, False, message.get("text") or message.get("caption"), at=self.now()
            )

    def _message_json(
        self, chat_id: int, mid: int, text: str, markup: dict[str, Any] | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": mid,
            "from": BOT_USER,
            "chat": _chat(chat_id, None, chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if markup:
            message["reply_markup"] = markup
        return message


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


async def _params(request: web.Request) -> dict[str, Any]:
    """Decode what PTB sent: JSON body, or form fields whose non-string values are JSON."""
    if request.content_type == "application/json":
        data = await request.json() if request.can_read_body else {}
        return dict(data or {})
    form = await request.post() if request.can_read_body else {}
    params: dict[str, Any] = dict(request.query)
    for key, value in form.items():
        if not isinstance(value, str):
            params[key] = value  # an uploaded file
        elif key in STRING_PARAMS:
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _user(user_id: int, language_code: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": f"User{user_id}",
        "language_code": language_code,
    }


def _chat(chat_id: int, chat_type: str | None, user_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": chat_type or "supergroup", "title": f"Group {chat_id}"}
    return {"id": chat_id, "type": chat_type or "private", "first_name": f"User{user_id}"}


__all__ = ["BLOCKED", "BOT_USER", "DEFAULT_TOKEN", "ChatMessage", "FakeTelegramAPI"]

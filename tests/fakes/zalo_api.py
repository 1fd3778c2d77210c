"""Local stand-ins of Zalo's three HTTP APIs, on 127.0.0.1 and a random port.

One aiohttp server plays:

- the OA Open API: ``POST /v3.0/oa/message/cs`` (checks the bare
  ``access_token`` header, validates the body, answers errors as HTTP 200
  with ``error != 0`` like Zalo does);
- the OAuth server: ``POST /v4/oa/access_token`` (form-encoded, ``secret_key``
  header; every refresh returns a new single-use refresh token and burns the
  old one, so a second refresh with the same token fails);
- the Bot Platform: ``POST /bot<TOKEN>/getMe|getUpdates|setWebhook|
  deleteWebhook|sendMessage`` (``{ok, result}`` envelope, one update per
  ``getUpdates``, ``error_code`` 408 when none came).

Point the settings at it: ``ZALO_OA_API_BASE_URL`` and ``ZALO_OAUTH_BASE_URL``
= :attr:`FakeZalo.url`, ``ZALO_BOT_API_BASE_URL`` = :attr:`FakeZalo.bot_base_url`.
Everything sent is recorded; errors can be queued per endpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

#: An injected failure: a Zalo error code (OA ``error``, Bot ``error_code``),
#: or "http500" for an HTTP 500 without a JSON body.
Failure = int | str


@dataclass
class OASent:
    access_token: str
    body: dict[str, Any]

    @property
    def user_id(self) -> str:
        return str(self.body["recipient"]["user_id"])

    @property
    def text(self) -> str:
        return str(self.body["message"]["text"])

    @property
    def buttons(self) -> list[dict[str, Any]]:
        attachment = self.body["message"].get("attachment")
        if not attachment:
            return []
        return list(attachment["payload"]["buttons"])


@dataclass
class FakeZalo:
    app_id: str = "4242424242"
    app_secret: str = "app-secret-xyz"
    bot_token: str = "1234567890:fake-bot-secret"
    #: ``expires_in`` the OAuth server answers (a string, like Zalo's).
    expires_in: str = "90000"
    #: How long ``getUpdates`` waits for an update before answering 408.
    poll_wait: float = 0.2
    #: Extra delay of each OAuth refresh, to widen race windows in tests.
    refresh_delay: float = 0.0

    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    burnt_refresh_tokens: set[str] = field(default_factory=set)
    refresh_calls: int = 0
    refresh_failures: int = 0
    oa_sent: list[OASent] = field(default_factory=list)
    oa_calls: int = 0
    oa_errors: list[Failure] = field(default_factory=list)

    bot_calls: list[str] = field(default_factory=list)
    bot_sent: list[dict[str, Any]] = field(default_factory=list)
    bot_errors: dict[str, list[Failure]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- life cycle ---------------------------------------------------------

    async def start(self) -> FakeZalo:
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._oa_message)
        app.router.add_post("/v4/oa/access_token", self._oauth)
        app.router.add_post("/bot{token}/{method}", self._bot)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeZalo:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bot_base_url(self) -> str:
        return f"{self.url}/bot"

    # -- OA tokens --------------------------------------------------------------

    def issue_pair(self) -> tuple[str, str]:
        """A valid (access token, refresh token), as the OA admin would paste
        into ``ZALO_OA_ACCESS_TOKEN`` / ``ZALO_OA_REFRESH_TOKEN``."""
        access = "at-" + secrets.token_hex(8)
        refresh = "rt-" + secrets.token_hex(8)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return access, refresh

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now rejected with ``-216``."""
        self.access_tokens.clear()

    async def _oauth(self, request: web.Request) -> web.Response:
        self.refresh_calls += 1
        form = await request.post()
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if request.headers.get("secret_key") != self.app_secret:
            self.refresh_failures += 1
            return web.json_response({"error": -14001, "error_name": "Invalid secret key"})
        if form.get("app_id") != self.app_id or form.get("grant_type") != "refresh_token":
            self.refresh_failures += 1
            return web.json_response({"error": -14002, "error_name": "Invalid app id"})
        token = str(form.get("refresh_token") or "")
        if token not in self.refresh_tokens:
            self.refresh_failures += 1
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token"})
        self.refresh_tokens.discard(token)
        self.burnt_refresh_tokens.add(token)
        access, refresh = self.issue_pair()
        return web.json_response(
            {"access_token": access, "refresh_token": refresh, "expires_in": self.expires_in}
        )

    # -- OA messages --------------------------------------------------------------

    async def _oa_message(self, request: web.Request) -> web.Response:
        self.oa_calls += 1
        if self.oa_errors:
            failure = self.oa_errors.pop(0)
            if failure == "http500":
                return web.Response(status=500, text="upstream error")
            return web.json_response({"error": failure, "message": "injected"})
        token = request.headers.get("access_token", "")
        if token not in self.access_tokens:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        try:
            body = await request.json()
            user_id = body["recipient"]["user_id"]
            message = body["message"]
            text = message["text"]
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": -201, "message": "Parameters are invalid"})
        attachment = message.get("attachment")
        buttons = attachment["payload"]["buttons"] if attachment else []
        if (
            not isinstance(user_id, str)
            or not isinstance(text, str)
            or not 1 <= len(text) <= 2000
            or len(buttons) > 5
        ):
            return web.json_response({"error": -201, "message": "Parameters are invalid"})
        self.oa_sent.append(OASent(token, body))
        mid = f"oam{next(self._ids)}"
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"message_id": mid, "user_id": user_id}}
        )

    # -- Bot Platform ---------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for the next ``getUpdates``."""
        self.updates.put_nowait(update)

    def fail_bot(self, method: str, *failures: Failure) -> None:
        self.bot_errors.setdefault(method, []).extend(failures)

    async def _bot(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.bot_token:
            return _bot_error(401, "Unauthorized", status=401)
        self.bot_calls.append(method)
        queued = self.bot_errors.get(method)
        if queued:
            failure = queued.pop(0)
            if failure == "http500":
                return web.Response(status=500, text="upstream error")
            assert isinstance(failure, int)
            return _bot_error(failure, "injected")
        try:
            body = await request.json()
        except ValueError:
            body = {}
        if method == "getMe":
            return _ok({"id": self.bot_token.split(":")[0], "account_name": "bot.fake"})
        if method == "getUpdates":
            return await self._get_updates(body)
        if method == "setWebhook":
            url, secret = body.get("url"), body.get("secret_token")
            if (
                not isinstance(url, str)
                or not isinstance(secret, str)
                or not 8 <= len(secret) <= 256
            ):
                return _bot_error(400, "Bad Request")
            self.webhook = {"url": url, "secret_token": secret}
            return _ok({"url": url, "updated_at": int(time.time() * 1000)})
        if method == "deleteWebhook":
            self.webhook = None
            return _ok({"url": "", "updated_at": int(time.time() * 1000)})
        if method == "sendMessage":
            chat_id, text = body.get("chat_id"), body.get("text")
            if not isinstance(chat_id, str) or not isinstance(text, str):
                return _bot_error(400, "Bad Request")
            if not 1 <= len(text) <= 2000:
                return _bot_error(400, "Bad Request: text length")
            self.bot_sent.append({"chat_id": chat_id, "text": text})
            return _ok({"message_id": f"bm{next(self._ids)}", "date": int(time.time() * 1000)})
        return _bot_error(404, "Not Found", status=404)

    async def _get_updates(self, body: dict[str, Any]) -> web.Response:
        if self.webhook is not None:
            return _bot_error(409, "Conflict: webhook is set")
        try:
            wait = min(float(body.get("timeout") or 30), self.poll_wait)
        except (TypeError, ValueError):
            return _bot_error(400, "Bad Request")
        try:
            update = await asyncio.wait_for(self.updates.get(), wait)
        except TimeoutError:
            return _bot_error(408, "Request timeout")
        return _ok(update)

    @property
    def bot_texts(self) -> list[str]:
        return [m["text"] for m in self.bot_sent]


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _bot_error(code: int, description: str, *, status: int = 200) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=status
    )


# -- events as Zalo sends them ---------------------------------------------------

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zalo"


def load_event(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture from ``tests/fixtures/zalo``; ``changes`` go into ``message``
    (``text``, ``msg_id``, ``message_id``...), except ``timestamp`` and
    ``sender``/``chat`` ids given as ``timestamp=``, ``sender_id=``, ``chat_id=``."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key == "timestamp":
            data["timestamp"] = value
        elif key == "sender_id":
            data["sender"]["id"] = value
        elif key == "chat_id":
            data["message"]["chat"]["id"] = value
            data["message"]["from"]["id"] = value
        else:
            data["message"][key] = value
    return data


def now_ms(offset_seconds: float = 0.0) -> str:
    return str(int((time.time() + offset_seconds) * 1000))


def oa_signature(app_id: str, raw_body: bytes, timestamp: str, secret: str) -> str:
    """Computed here independently of the adapter: ``mac=`` + sha256 hex of
    app id + raw body + timestamp + secret."""
    material = app_id.encode() + raw_body + timestamp.encode() + secret.encode()
    return "mac=" + hashlib.sha256(material).hexdigest()

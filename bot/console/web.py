"""The team console at ``/team``: login, queue, take, chat, notes, statistics.

It is also the "console" channel of the outbox: request cards for a console
team queue and messages for a console member arrive here as outbox rows; the
console does not render them from the row but tells the member's open pages
that something changed, and the pages read the state (queue, transcript) from
the database. So nothing is lost when no page is open, and a page that was
offline catches up on its next read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import Any

from aiohttp import WSMsgType, web

from bot.client_ip import client_ip, is_https, parse_proxies
from bot.console import auth, pages
from bot.console.desk import CONSOLE, Desk, NotAllowed, Result
from bot.console.labels import relabel
from bot.console.stats import charts, compute, window
from bot.messages import Outgoing
from bot.static_assets import asset_response

log = logging.getLogger(__name__)

COOKIE = "hl_team"
PRE_COOKIE = "hl_team_pre"
LANG_COOKIE = "hl_team_lang"
ASSETS = ("console.js", "console.css")
DEMO_LOGIN = "demo"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConsoleSender:
    channel = CONSOLE

    def __init__(self, console: ConsoleChannel) -> None:
        self.console = console

    async def send(self, address: str, message: Outgoing) -> list[str]:
        self.console.notify(address)
        return [f"c{uuid.uuid4().hex[:16]}"]


class ConsoleChannel:
    name = CONSOLE

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.settings = runtime.settings
        handoff = runtime.engine.handoff
        self.desk: Desk | None = (
            Desk(handoff, runtime.engine.stats)
            if handoff is not None and hasattr(handoff, "team_side")
            else None
        )
        self.sender = ConsoleSender(self)
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}
        static = files("bot") / "web" / "console"
        self._assets = {name: (static / name).read_bytes() for name in ASSETS}
        self.demo_password: str | None = None
        self.throttle = auth.LoginThrottle()
        self.proxies = parse_proxies(self.settings.trusted_proxies)

    # ---- channel ---------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/team", self.home)
        r.add_get("/team/", self.home)
        r.add_get("/team/login", self.login_form)
        r.add_post("/team/login", self.login)
        r.add_post("/team/logout", self.logout)
        r.add_get("/team/lang/{lang}", self.set_lang)
        r.add_get("/team/stats", self.stats)
        r.add_get("/team/static/{name}", self.asset)
        r.add_get("/team/ws", self.websocket)
        r.add_get("/team/api/state", self.api_state)
        r.add_get("/team/api/requests/{id}", self.api_chat)
        r.add_post("/team/api/requests/{id}/{action}", self.api_action)
        r.add_post("/team/api/duty/{state}", self.api_duty)

    async def start(self) -> None:
        await self.ensure_demo_account()

    async def stop(self) -> None:
        for sockets in list(self.sockets.values()):
            for ws in list(sockets):
                with contextlib.suppress(Exception):
                    await ws.close()

    def is_demo(self) -> bool:
        """Demo mode (settings.demo_mode) with the demo team in the handoff config."""
        if self.desk is None or not self.settings.demo_mode:
            return False
        from handoff.teams import DEMO_TEAM_ID

        team = self.desk.config.team(DEMO_TEAM_ID)
        return team is not None and team.member_by_identity((CONSOLE, DEMO_LOGIN)) is not None

    async def ensure_demo_account(self) -> str | None:
        """Demo mode: the demo member's login, printed at start so a newcomer
        can walk through a whole handoff. Outside demo mode the demo account is
        removed, so a password printed once in a terminal opens nothing."""
        if not self.is_demo():
            if await auth.remove_account(self.db, DEMO_LOGIN):
                log.warning("demo mode is off: removed the demo console account")
            return None
        password = self.settings.demo_password or secrets.token_urlsafe(12)
        await auth.set_password(self.db, DEMO_LOGIN, password, check=False)
        self.demo_password = password
        host, port = self.settings.http_host, self.settings.http_port
        print(
            f"Team console: http://{host}:{port}/team  login: {DEMO_LOGIN}  password: {password}"
            + (
                "" if self.settings.demo_password else "  (set HELPLINE_DEMO_PASSWORD to choose it)"
            ),
            flush=True,
        )
        return password

    def notify(self, address: str) -> None:
        logins = self.desk.logins_for_address(address) if self.desk else {address}
        for login in logins:
            for ws in list(self.sockets.get(login, set())):
                if not ws.closed:
                    task = asyncio.ensure_future(ws.send_json({"type": "changed"}))
                    task.add_done_callback(_ignore_errors)

    def notify_all(self) -> None:
        for login in list(self.sockets):
            self.notify(login)

    # ---- helpers -----------------------------------------------------------------

    def _lang(self, request: web.Request) -> str:
        return "en" if request.cookies.get(LANG_COOKIE) == "en" else "vi"

    async def _session(self, request: web.Request) -> auth.SessionInfo | None:
        return await auth.load_session(self.db, request.cookies.get(COOKIE))

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None or origin == "null":
            return origin is None
        return origin.split("://", 1)[-1] == request.host

    async def _check_post(self, request: web.Request, info: auth.SessionInfo) -> dict[str, str]:
        """CSRF: the session's token in the X-CSRF-Token header or a ``csrf``
        form field, and a same-origin Origin header when the browser sends one."""
        form: dict[str, str] = {}
        given = request.headers.get("X-CSRF-Token")
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = {k: str(v) for k, v in (await request.post()).items()}
            given = given or form.get("csrf")
        elif request.content_type == "application/json" and request.can_read_body:
            with contextlib.suppress(Exception):
                data = await request.json()
                if isinstance(data, dict):
                    form = {k: str(v) for k, v in data.items() if isinstance(v, str | int)}
        if not self._same_origin(request) or not auth.same_token(info.csrf, given):
            raise web.HTTPForbidden(text="CSRF check failed")
        return form

    def _html(self, body: str, status: int = 200) -> web.Response:
        response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
        _headers(response)
        return response

    def _cookie(
        self, response: web.StreamResponse, request: web.Request, name: str, value: str
    ) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="Strict",
            path="/team",
            secure=is_https(request, self.proxies, self.settings.public_url),
        )

    # ---- pages ----------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        info = await self._session(request)
        if info is None:
            raise web.HTTPFound("/team/login")
        has_team = bool(self.desk and self.desk.teams(info.login))
        return self._html(pages.console_page(self._lang(request), info.csrf, info.login, has_team))

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if await self._session(request) is not None:
            raise web.HTTPFound("/team")
        return self._login_page(request)

    def _login_page(
        self, request: web.Request, error: str | None = None, login: str = "", status: int = 200
    ) -> web.Response:
        pre = secrets.token_urlsafe(24)
        response = self._html(pages.login_page(self._lang(request), pre, error, login), status)
        self._cookie(response, request, PRE_COOKIE, pre)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        ip = client_ip(request, self.proxies)
        wait = self.throttle.check(ip)
        if wait is not None or self.throttle.busy():
            # Refused before reading the form or hashing anything.
            return self._too_many(request, wait or 1.0)
        form = await request.post()
        pre = request.cookies.get(PRE_COOKIE)
        given = str(form.get("csrf") or "")
        if not pre or not self._same_origin(request) or not auth.same_token(pre, given):
            raise web.HTTPForbidden(text="CSRF check failed")
        login = str(form.get("login") or "").strip()[:64]
        password = str(form.get("password") or "")[:1024]
        if self.throttle.busy():
            return self._too_many(request, 1.0)
        source = self.runtime.keyring.digest(f"console-login-source:{ip}")[:32]
        async with self.throttle.hashing:
            result = await auth.authenticate(self.db, login, password, source)
        if not result.ok:
            if result.locked_until is not None:
                log.warning("console login locked")
                return self._login_page(request, "locked", login, status=429)
            return self._login_page(request, "bad_login", login, status=401)
        token, _info = await auth.create_session(self.db, login)
        response = web.HTTPSeeOther("/team")
        self._cookie(response, request, COOKIE, token)
        response.del_cookie(PRE_COOKIE, path="/team")
        log.info("console login")
        raise response

    def _too_many(self, request: web.Request, wait: float) -> web.Response:
        response = self._login_page(request, "slow", status=429)
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        info = await self._session(request)
        if info is not None:
            await self._check_post(request, info)
            await auth.end_session(self.db, request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/team/login")
        response.del_cookie(COOKIE, path="/team")
        raise response

    async def set_lang(self, request: web.Request) -> web.StreamResponse:
        lang = "en" if request.match_info["lang"] == "en" else "vi"
        response = web.HTTPFound("/team")
        response.set_cookie(LANG_COOKIE, lang, httponly=True, samesite="Strict", path="/team")
        raise response

    async def stats(self, request: web.Request) -> web.StreamResponse:
        info = await self._session(request)
        if info is None:
            raise web.HTTPFound("/team/login")
        lang = self._lang(request)
        # A member sees her own teams' figures; a coordinator sees every team;
        # an account in no team sees none.
        teams: set[str] | None = None
        if not await auth.is_coordinator(self.db, info.login):
            teams = set(self.desk.team_ids(info.login)) if self.desk else set()
            if not teams:
                raise web.HTTPForbidden(text="statistics are for team members")
        numbers = await compute(self.db, window(request.query.get("days")), teams=teams)
        # Names, not internal codes ("Helplines", not "ask_services").
        numbers["intents"] = relabel(numbers["intents"], "intent", lang)
        conversations = numbers["conversations"]
        conversations["by_channel"] = relabel(conversations["by_channel"], "channel", lang)
        t = pages.T[lang]
        drawn = charts(
            numbers,
            {k: t[k] for k in ("conversations", "intents", "handoffs", "requested", "claimed")},
        )
        return self._html(pages.stats_page(lang, info.csrf, numbers, drawn))

    async def asset(self, request: web.Request) -> web.Response:
        return asset_response(self._assets, request.match_info["name"])

    # ---- live updates -----------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        info = await self._session(request)
        if info is None or not self._same_origin(request):
            raise web.HTTPForbidden()
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
        await ws.prepare(request)
        self.sockets.setdefault(info.login, set()).add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            sockets = self.sockets.get(info.login)
            if sockets is not None:
                sockets.discard(ws)
                if not sockets:
                    del self.sockets[info.login]
        return ws

    # ---- JSON API -------------------------------------------------------------------------

    async def _api_session(self, request: web.Request) -> tuple[auth.SessionInfo, Desk]:
        info = await self._session(request)
        if info is None:
            raise web.HTTPUnauthorized()
        if self.desk is None:
            raise web.HTTPServiceUnavailable(text="handoff is not configured")
        return info, self.desk

    async def api_state(self, request: web.Request) -> web.Response:
        info, desk = await self._api_session(request)
        try:
            page = min(max(int(request.query.get("page", "0")), 0), 10_000)
        except ValueError:
            page = 0
        return _json(await desk.state(info.login, self._lang(request), page))

    async def api_chat(self, request: web.Request) -> web.Response:
        info, desk = await self._api_session(request)
        try:
            return _json(await desk.chat(info.login, _request_id(request), self._lang(request)))
        except NotAllowed:
            raise web.HTTPNotFound() from None

    async def api_action(self, request: web.Request) -> web.Response:
        info = await self._session(request)
        if info is None:
            raise web.HTTPUnauthorized()
        form = await self._check_post(request, info)
        info, desk = await self._api_session(request)
        request_id = _request_id(request)
        action = request.match_info["action"]
        text = form.get("text", "")
        try:
            result: Result
            if action == "take":
                result = await desk.take(info.login, request_id)
            elif action == "reply":
                result = await desk.reply(info.login, request_id, text)
            elif action == "release":
                result = await desk.release(info.login, request_id)
            elif action == "end":
                result = await desk.end(info.login, request_id)
            elif action == "note":
                result = await desk.note(info.login, request_id, text)
            elif action == "tip":
                number = form.get("n", "")
                if not number.isdigit() or len(number) > 3:
                    raise web.HTTPBadRequest()
                result = await desk.tip(info.login, request_id, int(number))
            elif action == "transfer":
                result = await desk.transfer(info.login, request_id, form.get("to", ""))
            else:
                raise web.HTTPNotFound()
        except NotAllowed:
            raise web.HTTPNotFound() from None
        self.notify_all()
        return _json({"ok": result.ok, "message": result.message}, status=200 if result.ok else 409)

    async def api_duty(self, request: web.Request) -> web.Response:
        """The on/off duty toggle: cards of a team without a group go to its
        on-duty members; nobody on duty is told to her at once."""
        info = await self._session(request)
        if info is None:
            raise web.HTTPUnauthorized()
        await self._check_post(request, info)
        info, desk = await self._api_session(request)
        state = request.match_info["state"]
        if state not in ("on", "off"):
            raise web.HTTPNotFound()
        result = await desk.set_duty(info.login, state == "on")
        self.notify_all()
        return _json({"ok": result.ok, "message": result.message})


def _request_id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound()
    return int(value)


def _json(data: Any, status: int = 200) -> web.Response:
    response = web.json_response(data, status=status)
    _headers(response)
    return response


def _headers(response: web.StreamResponse) -> None:
    response.headers["Cache-Control"] = "no-store"
    # "same-origin", not "no-referrer": with no-referrer Chromium sends
    # "Origin: null" on our own form posts, and the Origin check needs the real one.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )


def _ignore_errors(task: asyncio.Future[Any]) -> None:
    with contextlib.suppress(Exception, asyncio.CancelledError):
        task.result()


__all__ = ["ConsoleChannel", "ConsoleSender"]

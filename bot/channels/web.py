"""The web chat channel: a small page at ``/`` talking to the engine over a
WebSocket at ``/ws``.

Delivery to her is at-least-once on the wire and exactly-once on the page:
every message for her (a reply to her message, or a later one from the team
through the outbox) is first written, sealed, to ``web_pending`` with a
sequence number; each open socket pushes the rows it has not pushed yet; the
page acknowledges what it has shown (``seen``) and those rows are deleted.
After a network drop the page says ``resume`` with the last number it showed
and gets everything after it once, in order. Her own messages carry client
ids: the server acknowledges them after the turn and the engine dedupes a
message she sends again after a reconnect.

Nothing about the conversation reaches the page title, the URL or the
browser's storage; the session is an HttpOnly, SameSite=Strict cookie that
lasts until the browser closes (or quick exit clears it).

Embedded in a partner's page (``/?embed=1`` in an iframe), the browser does
not send a SameSite=Strict cookie; the session token is then handed to the
page over the socket and kept in the iframe's memory only.

Sessions are issued by the server (docs/web.md, "Sessions"): the token is
random, only its hash is stored (``bot/store/web_sessions.py``), a token the
server did not issue (or one expired or rotated away) is never adopted, and
the token changes when she consents to talk to the team and when her request
is made. One socket per session: a second connection closes the first, which
is told ``{"type": "replaced"}`` and stops reconnecting. ``/ws`` refuses a
browser Origin other than the chat's own (HELPLINE_PUBLIC_URL, else the Host
it was reached at) and HELPLINE_EMBED_ORIGINS. Messages per minute are
limited per session and per client IP (``bot/client_ip.py``; the IP is only
ever a keyed digest in memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from aiohttp import WSMsgType, web

from bot import appkeys
from bot.client_ip import HSTS, Network, client_ip, is_https
from bot.crypto import KeyRing
from bot.engine import Engine
from bot.limits import RateLimit
from bot.messages import Incoming, Outgoing, utcnow
from bot.static_assets import asset_response
from bot.store import web_pending, web_sessions
from bot.store.db import Database
from bot.text_limits import cap_input

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "hl_sid"
MAX_WS_MESSAGE = 256 * 1024
#: Each socket also looks for rows written by another process this often.
POLL_SECONDS = 2.0
ASSETS = ("chat.js", "chat.css")
#: Flow actions after which the session token changes (docs/web.md, "Sessions").
ROTATE_AFTER = frozenset({"consent", "start_handoff"})
#: At most one "slow down" notice per socket in this many seconds.
NOTICE_EVERY = 10.0


def outgoing_json(message: Outgoing) -> dict[str, Any]:
    return {
        "type": "message",
        "id": uuid.uuid4().hex,
        "text": message.text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in message.buttons],
        "clear": message.clear_history,
    }


@dataclass(eq=False)
class _Conn:
    """One open socket of one browser session."""

    ws: web.WebSocketResponse
    #: The engine's address for her (never the token the browser holds).
    sid: str
    user_key: str
    session_id: int
    embed: bool
    ip_key: str
    noticed_at: float = -NOTICE_EVERY
    last_pushed: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WebSender:
    """The outbox's way to her browser: store, then push to her open sockets."""

    channel = CHANNEL

    def __init__(self, db: Database, keyring: KeyRing) -> None:
        self.db = db
        self.keyring = keyring
        self.conns: dict[str, set[_Conn]] = {}

    @property
    def sockets(self) -> dict[str, set[web.WebSocketResponse]]:
        return {sid: {c.ws for c in conns} for sid, conns in self.conns.items()}

    def user_key(self, sid: str) -> str:
        return self.keyring.user_key(CHANNEL, sid)

    async def store(self, sid: str, messages: list[Outgoing]) -> list[int]:
        """Keep messages for her browser; an erase drops what was waiting first."""
        sealed = [self.keyring.seal_json(outgoing_json(m)) for m in messages]
        erase = any(m.clear_history for m in messages)
        async with self.db.transaction() as session:
            return await web_pending.append(
                session, self.user_key(sid), sealed, utcnow(), replace=erase
            )

    async def send(self, address: str, message: Outgoing) -> list[str]:
        seqs = await self.store(address, [message])
        self.wake(address)
        return [str(s) for s in seqs]

    def wake(self, sid: str) -> None:
        for conn in self.conns.get(sid, set()):
            conn.wake.set()

    async def push(self, conn: _Conn) -> None:
        """Send this socket every stored row it has not sent yet, in order."""
        async with conn.lock:
            if conn.ws.closed:
                return
            async with self.db.transaction() as session:
                rows = await web_pending.after(session, conn.user_key, conn.last_pushed)
            for seq, sealed in rows:
                payload = dict(self.keyring.open_json(sealed))
                payload["seq"] = seq
                await conn.ws.send_json(payload)
                conn.last_pushed = seq

    async def latest_seq(self, user_key: str) -> int:
        async with self.db.transaction() as session:
            return await web_pending.latest_seq(session, user_key)

    async def seen(self, user_key: str, seq: int) -> None:
        async with self.db.transaction() as session:
            await web_pending.acknowledge(session, user_key, seq)

    async def forget(self, sid: str) -> None:
        async with self.db.transaction() as session:
            await web_pending.drop(session, self.user_key(sid))


class WebChannel:
    name = CHANNEL

    def __init__(
        self,
        engine: Engine,
        *,
        exit_url: str,
        frame_ancestors: str = "*",
        public_url: str | None = None,
        proxies: list[Network] | None = None,
        messages_per_minute: int = 20,
        ip_messages_per_minute: int = 120,
        ip_sessions_per_hour: int = 200,
    ) -> None:
        self.engine = engine
        self.exit_url = exit_url
        self.frame_ancestors = frame_ancestors
        self.public_url = public_url
        self.proxies = proxies or []
        self.embed_origins = {
            o.rstrip("/").lower() for o in frame_ancestors.split() if o.startswith("http")
        }
        self.sender = WebSender(engine.db, engine.keyring)
        self.session_limit = RateLimit(messages_per_minute, 60.0)
        self.ip_limit = RateLimit(ip_messages_per_minute, 60.0)
        self.ip_sessions = RateLimit(ip_sessions_per_hour, 3600.0)
        static = files("bot") / "web"
        self._page = (static / "chat.html").read_text(encoding="utf-8")
        self._assets = {name: (static / name).read_bytes() for name in ASSETS}
        self._tasks: set[asyncio.Task[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/static/{name}", self.asset)
        app.router.add_post("/exit", self.quick_exit)
        app.router.add_post("/session", self.session_cookie)
        app.router.add_get("/embed.js", self.embed_script)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for conns in list(self.sender.conns.values()):
            for conn in list(conns):
                with contextlib.suppress(Exception):
                    await conn.ws.close()

    # ---- sessions ------------------------------------------------------------

    def _https(self, request: web.Request) -> bool:
        return is_https(request, self.proxies, self.public_url)

    def _ip_key(self, request: web.Request) -> str:
        """A keyed digest of her IP: a limit's key, never logged or stored."""
        return self.engine.keyring.digest("web-ip:" + client_ip(request, self.proxies))

    def _set_cookie(self, request: web.Request, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            path="/",
            secure=self._https(request),
        )

    async def _find(self, token: str | None) -> web_sessions.Issued | None:
        async with self.engine.db.transaction() as session:
            return await web_sessions.find(session, self.engine.keyring, token, utcnow())

    async def _issue(self, request: web.Request) -> web_sessions.Issued | None:
        """A fresh session, unless this IP has opened too many this hour."""
        if self.ip_sessions.hit(self._ip_key(request)):
            return None
        async with self.engine.db.transaction() as session:
            return await web_sessions.issue(session, self.engine.keyring, CHANNEL, utcnow())

    def _own_origins(self, request: web.Request) -> set[str]:
        if self.public_url:
            own = {self.public_url}
        else:  # the address she reached us at; a cross-site page has another Origin
            own = {f"{'https' if self._https(request) else 'http'}://{request.host}".lower()}
        return own | self.embed_origins

    def _origin_ok(self, request: web.Request) -> bool:
        """A browser always sends Origin on a WebSocket; another site's page
        (cross-site WebSocket hijacking) or a sandboxed ``null`` is refused.
        Scripts that send none are not browsers and hold no cookie of hers."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        return origin.rstrip("/").lower() in self._own_origins(request)

    # ---- HTTP ---------------------------------------------------------------

    async def page(self, request: web.Request) -> web.Response:
        embed = request.query.get("embed") == "1"
        html = self._page.replace("{{EXIT_URL}}", _attr(self.exit_url)).replace(
            "{{EMBED}}", "1" if embed else "0"
        )
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        self._private_headers(request, response)
        if not embed and await self._find(request.cookies.get(COOKIE)) is None:
            issued = await self._issue(request)
            if issued is not None:
                self._set_cookie(request, response, issued.token)
        return response

    async def session_cookie(self, request: web.Request) -> web.Response:
        """``POST /session``: the page's way to (re)gain its HttpOnly cookie.
        With a token in the body (the one the server just sent over her
        socket when it rotated the session), that token becomes the cookie if
        it is live; without one, a fresh session unless her cookie is live.
        Only from the chat's own pages (Origin), so another site cannot plant
        a session of its choosing in her browser."""
        if not self._origin_ok(request) or request.headers.get("Origin") is None:
            raise web.HTTPForbidden()
        response = web.Response(status=204)
        self._private_headers(request, response)
        given = ""
        with contextlib.suppress(Exception):
            given = (await request.content.read(200)).decode("ascii").strip()
        if given:
            if await self._find(given) is None:
                raise web.HTTPForbidden()
            self._set_cookie(request, response, given)
            return response
        if await self._find(request.cookies.get(COOKIE)) is not None:
            return response
        issued = await self._issue(request)
        if issued is None:
            raise web.HTTPTooManyRequests()
        self._set_cookie(request, response, issued.token)
        return response

    async def embed_script(self, request: web.Request) -> web.Response:
        """A partner's page adds ``<script src=".../embed.js" async></script>``:
        a small button that opens the chat in an iframe panel. The chat's
        address is HELPLINE_PUBLIC_URL, or else the script's own ``src`` as the
        browser resolved it; never the Host header, which anyone can set and
        which a cache would then serve to everybody."""
        base = json.dumps(self.public_url) if self.public_url else "null"
        body = _EMBED_JS.replace("{{BASE}}", base)
        return web.Response(
            text=body,
            content_type="application/javascript",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def quick_exit(self, request: web.Request) -> web.Response:
        """Quick exit: end any handoff ("the person left"), drop what is waiting
        for her browser, end the session and forget the cookie; the page has
        already replaced itself with a neutral site."""
        token = request.cookies.get(COOKIE)
        if not token and request.can_read_body:
            # Embedded page: the token lives in the iframe's memory, sent in the body.
            with contextlib.suppress(Exception):
                token = (await request.content.read(200)).decode("ascii").strip()
        issued = await self._find(token)
        if issued is not None and token:
            await self.engine.leave(CHANNEL, issued.address)
            await self.sender.forget(issued.address)
            async with self.engine.db.transaction() as session:
                await web_sessions.end(session, token)
            for conn in list(self.sender.conns.get(issued.address, set())):
                await conn.ws.close()
        response = web.Response(status=204)
        self._private_headers(request, response)
        response.del_cookie(COOKIE, path="/")
        return response

    async def asset(self, request: web.Request) -> web.Response:
        return asset_response(self._assets, request.match_info["name"])

    def _private_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        _private_headers(response, self.frame_ancestors)
        if self._https(request):
            response.headers["Strict-Transport-Security"] = HSTS

    # ---- the socket ------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            raise web.HTTPForbidden()
        embed = request.query.get("embed") == "1"
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, heartbeat=30)
        await ws.prepare(request)
        issued: web_sessions.Issued | None = None
        if embed and not request.cookies.get(COOKIE):
            issued = await self._embed_session(request, ws)
        else:
            issued = await self._find(request.cookies.get(COOKIE))
        if issued is None:
            # The page asks POST /session for a fresh cookie, then comes back.
            await ws.send_json({"type": "error", "error": "no_session"})
            await ws.close()
            return ws
        conn = _Conn(
            ws=ws,
            sid=issued.address,
            user_key=self.sender.user_key(issued.address),
            session_id=issued.id,
            embed=embed,
            ip_key=self._ip_key(request),
        )
        conn.last_pushed = await self.sender.latest_seq(conn.user_key)
        # One live socket per session: the older one is told, neutrally, and closed.
        for old in list(self.sender.conns.get(conn.sid, set())):
            self.sender.conns[conn.sid].discard(old)
            with contextlib.suppress(Exception):
                await old.ws.send_json({"type": "replaced"})
                await old.ws.close()
        self.sender.conns.setdefault(conn.sid, set()).add(conn)
        pump = asyncio.create_task(self._pump(conn), name="web-pump")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_frame(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            conns = self.sender.conns.get(conn.sid)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self.sender.conns[conn.sid]
        return ws

    async def _embed_session(
        self, request: web.Request, ws: web.WebSocketResponse
    ) -> web_sessions.Issued | None:
        """Embedded page without a cookie: it sends ``{"type": "session",
        "token": ...}`` with the token it was given earlier, or
        ``{"type": "session"}``. A token the server does not know gets a fresh
        session, never adoption."""
        try:
            async with asyncio.timeout(10):
                msg = await ws.receive()
            data = json.loads(msg.data) if msg.type == WSMsgType.TEXT else None
        except (TimeoutError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("type") != "session":
            return None
        token = data.get("token")
        issued = await self._find(token if isinstance(token, str) else None)
        if issued is None:
            issued = await self._issue(request)
            if issued is None:
                return None
            await ws.send_json({"type": "session", "token": issued.token})
        return issued

    async def _pump(self, conn: _Conn) -> None:
        while not conn.ws.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.wake.wait(), POLL_SECONDS)
            conn.wake.clear()
            try:
                await self.sender.push(conn)
            except Exception:  # a closed socket or a database hiccup: try again later
                log.debug("web push failed", exc_info=True)

    async def _on_frame(self, conn: _Conn, raw: str) -> None:
        control = _parse_control(raw)
        if control is not None:
            kind, seq = control
            if kind == "resume":
                async with conn.lock:
                    conn.last_pushed = min(conn.last_pushed, seq)
                await self.sender.push(conn)
            else:
                await self.sender.seen(conn.user_key, seq)
            return
        incoming = _parse_client_message(conn.sid, raw)
        if incoming is None:
            await conn.ws.send_json({"type": "error", "error": "bad_message"})
            return
        wait = self.session_limit.hit(str(conn.session_id)) or self.ip_limit.hit(conn.ip_key)
        if wait:
            await self._slow_down(conn, incoming.message_id, wait)
            return
        try:
            replies = await self.engine.handle(incoming)
            actions = set(self.engine.last_trace.actions)  # this turn's: no await since
            if replies:
                await self.sender.store(conn.sid, replies)
        except Exception:
            log.exception("web turn failed")
            await conn.ws.send_json({"type": "error", "error": "try_again"})
            return
        await self.sender.push(conn)
        self.sender.wake(conn.sid)  # her other tabs
        await conn.ws.send_json({"type": "ack", "id": incoming.message_id})
        if actions & ROTATE_AFTER:
            await self._rotate(conn)

    async def _slow_down(self, conn: _Conn, message_id: str | None, wait: float) -> None:
        """Over a limit: her message is not handled now and not acknowledged,
        so the page keeps it and sends it again after ``retry`` seconds; a calm
        notice (naming 113) at most every NOTICE_EVERY seconds."""
        now = asyncio.get_running_loop().time()
        if now - conn.noticed_at >= NOTICE_EVERY:
            conn.noticed_at = now
            for message in self.engine.runner.render("slow_down", "vi"):
                await conn.ws.send_json(outgoing_json(message))
        await conn.ws.send_json({"type": "limited", "id": message_id, "retry": round(wait, 1)})

    async def _rotate(self, conn: _Conn) -> None:
        """A new token for her session; the old one opens nothing from now on.
        The page keeps it (embedded) or turns it into its cookie (POST /session)."""
        async with self.engine.db.transaction() as session:
            token = await web_sessions.rotate(session, conn.session_id)
        if token is not None:
            await conn.ws.send_json({"type": "session", "token": token})


def _parse_control(raw: str) -> tuple[str, int] | None:
    """``resume`` (last sequence number shown) and ``seen`` (acknowledged up to)."""
    if '"resume"' not in raw and '"seen"' not in raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") not in ("resume", "seen"):
        return None
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        seq = 0
    return str(data["type"]), seq


def _parse_client_message(sid: str, raw: str) -> Incoming | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("type")
    mid = data.get("id")
    message_id = str(mid)[:64] if isinstance(mid, str) and mid else None
    if kind == "start":
        return Incoming(channel=CHANNEL, address=sid, message_id=message_id, payload="cmd:start")
    if kind == "button" and isinstance(data.get("payload"), str):
        return Incoming(
            channel=CHANNEL, address=sid, message_id=message_id, payload=data["payload"][:64]
        )
    if kind == "message" and isinstance(data.get("text"), str):
        text = cap_input(data["text"])
        if not text.strip():
            return None
        return Incoming(channel=CHANNEL, address=sid, message_id=message_id, text=text)
    return None


def _private_headers(response: web.StreamResponse, frame_ancestors: str = "*") -> None:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        f"style-src 'self'; script-src 'self'; frame-ancestors {frame_ancestors}"
    )


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


_EMBED_JS = """(function () {
  "use strict";
  // The chat's address: HELPLINE_PUBLIC_URL, or where this script came from.
  var base = {{BASE}} || new URL(document.currentScript.src).origin;
  var open = false, frame = null;
  var btn = document.createElement("button");
  btn.type = "button";
  btn.textContent = "Hỏi đáp";
  btn.setAttribute("aria-label", "Hỏi đáp / Ask a question");
  btn.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;" +
    "padding:12px 18px;border:0;border-radius:24px;background:#1f5fbf;color:#fff;" +
    "font:600 16px system-ui,sans-serif;cursor:pointer";
  btn.addEventListener("click", function () {
    open = !open;
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.src = base + "/?embed=1";
      frame.title = "Hỏi đáp";
      frame.setAttribute("referrerpolicy", "no-referrer");
      frame.style.cssText = "position:fixed;right:16px;bottom:72px;z-index:2147483000;" +
        "width:min(380px,calc(100vw - 32px));height:min(600px,calc(100vh - 96px));" +
        "border:1px solid #ccc;border-radius:12px;background:#fff";
      document.body.appendChild(frame);
    }
    if (frame) frame.style.display = open ? "block" : "none";
  });
  document.body.appendChild(btn);
})();
"""


async def healthz(request: web.Request) -> web.Response:
    db = request.app[appkeys.DB]
    ok = await db.ping()
    return web.json_response({"ok": ok}, status=200 if ok else 503)


__all__ = ["WebChannel", "WebSender", "healthz"]

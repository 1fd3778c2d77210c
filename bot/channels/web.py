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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from aiohttp import WSMsgType, web

from bot import appkeys
from bot.crypto import KeyRing
from bot.engine import Engine
from bot.messages import Incoming, Outgoing, utcnow
from bot.static_assets import asset_response
from bot.store import web_pending
from bot.store.db import Database
from bot.text_limits import cap_input

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "hl_sid"
MAX_WS_MESSAGE = 256 * 1024
#: Each socket also looks for rows written by another process this often.
POLL_SECONDS = 2.0
ASSETS = ("chat.js", "chat.css")


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
    sid: str
    user_key: str
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

    def __init__(self, engine: Engine, *, exit_url: str, frame_ancestors: str = "*") -> None:
        self.engine = engine
        self.exit_url = exit_url
        self.frame_ancestors = frame_ancestors
        self.sender = WebSender(engine.db, engine.keyring)
        static = files("bot") / "web"
        self._page = (static / "chat.html").read_text(encoding="utf-8")
        self._assets = {name: (static / name).read_bytes() for name in ASSETS}
        self._tasks: set[asyncio.Task[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/static/{name}", self.asset)
        app.router.add_post("/exit", self.quick_exit)
        app.router.add_get("/embed.js", self.embed_script)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for conns in list(self.sender.conns.values()):
            for conn in list(conns):
                with contextlib.suppress(Exception):
                    await conn.ws.close()

    async def page(self, request: web.Request) -> web.Response:
        embed = request.query.get("embed") == "1"
        html = self._page.replace("{{EXIT_URL}}", _attr(self.exit_url)).replace(
            "{{EMBED}}", "1" if embed else "0"
        )
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        _private_headers(response, self.frame_ancestors)
        if not _session_id(request):
            response.set_cookie(
                COOKIE, secrets.token_urlsafe(32), httponly=True, samesite="Strict", path="/"
            )
        return response

    async def embed_script(self, request: web.Request) -> web.Response:
        """A partner's page adds ``<script src=".../embed.js" async></script>``:
        a small button that opens the chat in an iframe panel."""
        base = f"{request.scheme}://{request.host}"
        body = _EMBED_JS.replace("{{BASE}}", json.dumps(base))
        return web.Response(
            text=body,
            content_type="application/javascript",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def quick_exit(self, request: web.Request) -> web.Response:
        """Quick exit: end any handoff ("the person left"), drop what is waiting
        for her browser and forget the session cookie; the page has already
        replaced itself with a neutral site."""
        sid = _session_id(request)
        if sid is None and request.can_read_body:
            # Embedded page: the token lives in the iframe's memory, sent in the body.
            with contextlib.suppress(Exception):
                token = (await request.text())[:200].strip()
                sid = token if 20 <= len(token) <= 100 else None
        if sid:
            await self.engine.leave(CHANNEL, sid)
            await self.sender.forget(sid)
            for conn in list(self.sender.conns.get(sid, set())):
                await conn.ws.close()
        response = web.Response(status=204)
        _private_headers(response, self.frame_ancestors)
        response.del_cookie(COOKIE, path="/")
        return response

    async def asset(self, request: web.Request) -> web.Response:
        return asset_response(self._assets, request.match_info["name"])

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        sid = _session_id(request)
        embed = request.query.get("embed") == "1"
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, heartbeat=30)
        await ws.prepare(request)
        if not sid and embed:
            sid = await _embed_session(ws)
        if not sid:
            await ws.send_json({"type": "error", "error": "no_session"})
            await ws.close()
            return ws
        conn = _Conn(ws=ws, sid=sid, user_key=self.sender.user_key(sid))
        conn.last_pushed = await self.sender.latest_seq(conn.user_key)
        self.sender.conns.setdefault(sid, set()).add(conn)
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
            conns = self.sender.conns.get(sid)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self.sender.conns[sid]
        return ws

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
        try:
            replies = await self.engine.handle(incoming)
            if replies:
                await self.sender.store(conn.sid, replies)
        except Exception:
            log.exception("web turn failed")
            await conn.ws.send_json({"type": "error", "error": "try_again"})
            return
        await self.sender.push(conn)
        self.sender.wake(conn.sid)  # her other tabs
        await conn.ws.send_json({"type": "ack", "id": incoming.message_id})


async def _embed_session(ws: web.WebSocketResponse) -> str | None:
    """Embedded page without a cookie: it sends ``{"type": "session", "token": ...}``
    with the token it was given earlier, or ``{"type": "session"}`` for a new one."""
    try:
        async with asyncio.timeout(10):
            msg = await ws.receive()
        data = json.loads(msg.data) if msg.type == WSMsgType.TEXT else None
    except (TimeoutError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("type") != "session":
        return None
    token = data.get("token")
    if isinstance(token, str) and 20 <= len(token) <= 100:
        return token
    token = secrets.token_urlsafe(32)
    await ws.send_json({"type": "session", "token": token})
    return token


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


def _session_id(request: web.Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and 20 <= len(value) <= 100 else None


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
  var base = {{BASE}};
  var open = false, frame = null;
  var btn = document.createElement("button");
  btn.type = "button";
  btn.textContent = "Hỏi đáp";
  btn.setAttribute("aria-label", "Hỏi đáp / Ask a question");
  btn.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:12px 18px;" +
    "border:0;border-radius:24px;background:#1f5fbf;color:#fff;font:600 16px system-ui,sans-serif;cursor:pointer";
  btn.addEventListener("click", function () {
    open = !open;
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.src = base + "/?embed=1";
      frame.title = "Hỏi đáp";
      frame.setAttribute("referrerpolicy", "no-referrer");
      frame.style.cssText = "position:fixed;right:16px;bottom:72px;z-index:2147483000;width:min(380px,calc(100vw - 32px));" +
        "height:min(600px,calc(100vh - 96px));border:1px solid #ccc;border-radius:12px;background:#fff";
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

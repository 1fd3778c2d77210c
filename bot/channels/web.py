"""The web chat channel: a small page at ``/`` talking to the engine over a
WebSocket at ``/ws``. Replies to her message go back on the socket that sent
it; later messages (a team member's reply) come through the outbox and are
pushed to every open socket of her browser session."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import uuid
from importlib.resources import files
from typing import Any

from aiohttp import WSMsgType, web

from bot.engine import Engine
from bot.interfaces import DeliveryError
from bot.messages import Incoming, Outgoing

log = logging.getLogger(__name__)

CHANNEL = "web"
COOKIE = "hl_sid"
MAX_WS_MESSAGE = 256 * 1024
MAX_TEXT = 10_000


def outgoing_json(message: Outgoing) -> dict[str, Any]:
    return {
        "type": "message",
        "id": uuid.uuid4().hex,
        "text": message.text,
        "buttons": [{"label": b.label, "payload": b.payload} for b in message.buttons],
        "clear": message.clear_history,
    }


class WebSender:
    channel = CHANNEL

    def __init__(self) -> None:
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}

    async def send(self, address: str, message: Outgoing) -> list[str]:
        sockets = [ws for ws in self.sockets.get(address, set()) if not ws.closed]
        if not sockets:
            # She is not on the page now: the outbox keeps it and tries again.
            raise DeliveryError("browser not connected", retry_after=5.0)
        payload = outgoing_json(message)
        for ws in sockets:
            await ws.send_json(payload)
        return [payload["id"]]


class WebChannel:
    name = CHANNEL

    def __init__(self, engine: Engine, *, exit_url: str) -> None:
        self.engine = engine
        self.exit_url = exit_url
        self.sender = WebSender()
        static = files("bot") / "web"
        self._page = (static / "chat.html").read_text(encoding="utf-8")
        self._assets = {name: (static / name).read_bytes() for name in ("chat.js", "chat.css")}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.page)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/static/{name}", self.asset)
        app.router.add_post("/exit", self.quick_exit)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for sockets in list(self.sender.sockets.values()):
            for ws in list(sockets):
                with contextlib.suppress(Exception):
                    await ws.close()

    async def page(self, request: web.Request) -> web.Response:
        html = self._page.replace("{{EXIT_URL}}", _attr(self.exit_url))
        response = web.Response(text=html, content_type="text/html", charset="utf-8")
        _private_headers(response)
        if not _session_id(request):
            response.set_cookie(
                COOKIE, secrets.token_urlsafe(32), httponly=True, samesite="Strict", path="/"
            )
        return response

    async def quick_exit(self, request: web.Request) -> web.Response:
        """Quick exit: forget the browser session cookie; the page has already
        replaced itself with a neutral site."""
        sid = _session_id(request)
        if sid:
            await self.engine.leave(CHANNEL, sid)
            for ws in list(self.sender.sockets.get(sid, set())):
                await ws.close()
        response = web.Response(status=204)
        response.del_cookie(COOKIE, path="/")
        return response

    async def asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = self._assets.get(name)
        if body is None:
            raise web.HTTPNotFound()
        kind = "application/javascript" if name.endswith(".js") else "text/css"
        return web.Response(body=body, content_type=kind, headers={"Cache-Control": "no-store"})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        sid = _session_id(request)
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, heartbeat=30)
        await ws.prepare(request)
        if not sid:
            await ws.send_json({"type": "error", "error": "no_session"})
            await ws.close()
            return ws
        self.sender.sockets.setdefault(sid, set()).add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_message(ws, sid, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            sockets = self.sender.sockets.get(sid)
            if sockets is not None:
                sockets.discard(ws)
                if not sockets:
                    del self.sender.sockets[sid]
        return ws

    async def _on_message(self, ws: web.WebSocketResponse, sid: str, raw: str) -> None:
        incoming = _parse_client_message(sid, raw)
        if incoming is None:
            await ws.send_json({"type": "error", "error": "bad_message"})
            return
        try:
            replies = await self.engine.handle(incoming)
        except Exception:
            log.exception("web turn failed")
            await ws.send_json({"type": "error", "error": "try_again"})
            return
        for reply in replies:
            await ws.send_json(outgoing_json(reply))
        await ws.send_json({"type": "ack", "id": incoming.message_id})


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
        text = data["text"][:MAX_TEXT]
        if not text.strip():
            return None
        return Incoming(channel=CHANNEL, address=sid, message_id=message_id, text=text)
    return None


def _session_id(request: web.Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and 20 <= len(value) <= 100 else None


def _private_headers(response: web.StreamResponse) -> None:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors *"
    )


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


async def healthz(request: web.Request) -> web.Response:
    db = request.app["db"]
    ok = await db.ping()
    return web.json_response({"ok": ok}, status=200 if ok else 503)


__all__ = ["WebChannel", "WebSender", "healthz"]

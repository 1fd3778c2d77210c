"""A web chat client as a script would drive it (and as chat.js does): the page
for its cookie, the socket, frames in and out. Used by the attacker's scripts
and, for the person he harms, by the tests themselves."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp

from tests.security.conftest import client_from


class Chat:
    """One browser: its own cookie jar, connections from ``ip``."""

    def __init__(self, base: str, ip: str = "127.0.0.1", origin: str | None = None) -> None:
        self.base = base
        self.http = client_from(ip)
        self.origin = origin
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        #: Every frame received, in order.
        self.frames: list[dict[str, Any]] = []
        #: The last token the server handed over the socket (rotation, embed).
        self.token: str | None = None

    async def __aenter__(self) -> Chat:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()

    async def open_page(self) -> aiohttp.ClientResponse:
        async with self.http.get(self.base + "/") as resp:
            await resp.read()
            return resp

    def cookie(self) -> str | None:
        for c in self.http.cookie_jar:
            if c.key == "hl_sid":
                return c.value
        return None

    def set_cookie(self, value: str) -> None:
        self.http.cookie_jar.update_cookies({"hl_sid": value}, aiohttp.client.URL(self.base))

    async def connect(self, path: str = "/ws") -> aiohttp.ClientWebSocketResponse:
        headers = {"Origin": self.origin} if self.origin else {}
        self.ws = await self.http.ws_connect(self.base + path, headers=headers)
        return self.ws

    async def receive(self, seconds: float = 10.0) -> dict[str, Any] | None:
        """The next frame; None once the socket is closed."""
        assert self.ws is not None
        async with asyncio.timeout(seconds):
            msg = await self.ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            return None
        data: dict[str, Any] = json.loads(msg.data)
        self.frames.append(data)
        if data.get("type") == "session":
            self.token = data["token"]
            # What chat.js does with a rotated token: make it the cookie.
            if self.cookie():
                self.set_cookie(data["token"])
        return data

    async def send(self, frame: dict[str, Any], until: str = "ack") -> list[dict[str, Any]]:
        """Send one frame; the frames up to (and including) ``until`` or ``limited``."""
        assert self.ws is not None
        frame.setdefault("id", uuid.uuid4().hex)
        await self.ws.send_json(frame)
        got: list[dict[str, Any]] = []
        while True:
            data = await self.receive()
            if data is None:
                return got
            got.append(data)
            if data.get("type") in (until, "limited", "error"):
                if data.get("type") == "ack" and data.get("id") != frame["id"]:
                    continue
                return got

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.send({"type": "message", "text": text})

    def texts(self) -> list[str]:
        return [f["text"] for f in self.frames if f.get("type") == "message"]

    async def tap(self, label_part: str) -> list[dict[str, Any]]:
        shown = next(
            f
            for f in reversed(self.frames)
            if f.get("type") == "message"
            and any(label_part.lower() in b["label"].lower() for b in f.get("buttons", []))
        )
        button = next(b for b in shown["buttons"] if label_part.lower() in b["label"].lower())
        return await self.send({"type": "button", "payload": button["payload"]})

    async def ask_for_team(self) -> list[dict[str, Any]]:
        """Consent → (discreet question) → area → topic, as she would."""
        await self.say("tôi muốn nói chuyện với người thật")
        got = await self.tap("Đồng ý")
        if any("kín đáo" in b["label"] for f in got for b in f.get("buttons", [])):
            got = await self.tap("bình thường")
        await self.say("Phú Hưng")
        await self.tap("Đúng")  # "Mình hiểu là: … — đúng không?"
        got = await self.tap("Bạo lực")
        # The questions before connecting (when the team asks them): the
        # summary she is shown, then "is it safe to talk now?".
        if any(b["label"] == "Đồng ý chia sẻ" for f in got for b in f.get("buttons", [])):
            got = await self.tap("Đồng ý chia sẻ")
            got = await self.tap("Chỉ tin ngắn")
        return got

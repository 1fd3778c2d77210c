"""The local web chat over a real aiohttp server and WebSocket client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import add_configured_channels, build_app
from bot.messages import Outgoing
from bot.store.models import User


@pytest.fixture
async def client(runtime: Any) -> AsyncIterator[TestClient[Any, Any]]:
    add_configured_channels(runtime)
    await runtime.start_background(outbox_poll=0.05)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    async with TestClient(server) as c:
        yield c


async def receive_until(
    ws: aiohttp.ClientWebSocketResponse, kind: str, seconds: float = 5.0
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        while True:
            data = json.loads((await ws.receive()).data)
            seen.append(data)
            if data["type"] == kind:
                return seen


async def test_page_is_neutral_and_private(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    html = await resp.text()
    assert "<title>Hỏi đáp</title>" in html
    for word in ("bạo lực", "violence", "abuse", "helpline"):
        assert word not in html.lower().split("<body")[0], "nothing revealing in the head/title"
    assert resp.headers["Cache-Control"] == "no-store"
    cookie = resp.cookies["hl_sid"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["expires"] and not cookie["max-age"], (
        "a session cookie, gone when the browser closes"
    )


async def test_greeting_reply_and_ack_over_websocket(client: TestClient[Any, Any]) -> None:
    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "start", "id": "s1"})
        welcome = await receive_until(ws, "ack")
        assert welcome[0]["type"] == "message" and welcome[0]["buttons"]
        await ws.send_json({"type": "message", "id": "u1", "text": "tôi bị chồng đánh, cứu tôi"})
        reply = await receive_until(ws, "ack")
        assert "113" in reply[0]["text"]
        assert reply[-1] == {"type": "ack", "id": "u1"}


async def test_resent_message_after_reconnect_is_not_answered_twice(
    client: TestClient[Any, Any],
) -> None:
    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "message", "id": "same", "text": "xin chào"})
        first = await receive_until(ws, "ack")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "message", "id": "same", "text": "xin chào"})
        second = await receive_until(ws, "ack")
    assert [m["type"] for m in first].count("message") >= 1
    assert [m["type"] for m in second] == ["ack"]


async def test_bad_frames_get_a_clear_error_and_the_chat_goes_on(
    client: TestClient[Any, Any],
) -> None:
    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        for frame in (
            "not json",
            "[1,2]",
            json.dumps({"type": "button"}),
            json.dumps({"type": "message", "text": ""}),
        ):
            await ws.send_str(frame)
            assert (await receive_until(ws, "error"))[-1]["error"] == "bad_message"
        await ws.send_json({"type": "message", "id": "ok", "text": "hello"})
        assert (await receive_until(ws, "ack"))[0]["type"] == "message"


async def test_websocket_without_session_cookie_is_refused(runtime: Any) -> None:
    add_configured_channels(runtime)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    async with TestClient(server) as c, c.ws_connect("/ws") as ws:
        data = json.loads((await ws.receive()).data)
        assert data == {"type": "error", "error": "no_session"}


async def test_later_message_is_pushed_live(client: TestClient[Any, Any], runtime: Any) -> None:
    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "start", "id": "s1"})
        await receive_until(ws, "ack")
        async with runtime.db.transaction() as s:
            from sqlalchemy import select

            user = await s.scalar(select(User))
            assert user is not None
            runtime.outbox.to_user(s, user, Outgoing("Tổ hỗ trợ: chào chị"))
        runtime.outbox.wake()
        pushed = await receive_until(ws, "message")
        assert pushed[-1]["text"] == "Tổ hỗ trợ: chào chị"


async def test_healthz_and_quick_exit(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/healthz")).status == 200
    await client.get("/")
    resp = await client.post("/exit")
    assert resp.status == 204
    assert resp.cookies["hl_sid"].value == ""

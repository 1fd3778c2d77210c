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


async def _queue_for_her(runtime: Any, text: str) -> None:
    from sqlalchemy import select

    async with runtime.db.transaction() as s:
        user = await s.scalar(select(User).where(User.channel == "web"))
        assert user is not None
        runtime.outbox.to_user(s, user, Outgoing(text))
    runtime.outbox.wake()


async def test_messages_carry_increasing_sequence_numbers(client: TestClient[Any, Any]) -> None:
    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "start", "id": "s1"})
        first = [m for m in await receive_until(ws, "ack") if m["type"] == "message"]
        await ws.send_json({"type": "message", "id": "u1", "text": "hello"})
        second = [m for m in await receive_until(ws, "ack") if m["type"] == "message"]
    seqs = [m["seq"] for m in first + second]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_message_sent_while_her_socket_was_down_arrives_once_on_reconnect(
    client: TestClient[Any, Any], runtime: Any
) -> None:
    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "resume", "seq": 0})
        await ws.send_json({"type": "start", "id": "s1"})
        shown = [m for m in await receive_until(ws, "ack") if m["type"] == "message"]
        last = shown[-1]["seq"]
        await ws.send_json({"type": "seen", "seq": last})
    # Her network is down: the team's reply is stored for her, not lost.
    await _queue_for_her(runtime, "Tổ hỗ trợ: chị còn đó không?")
    await runtime.worker.drain()
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "resume", "seq": last})
        replayed = await receive_until(ws, "message")
        assert [m["text"] for m in replayed] == ["Tổ hỗ trợ: chị còn đó không?"]
        assert replayed[0]["seq"] > last
        await ws.send_json({"type": "seen", "seq": replayed[0]["seq"]})
        # Nothing is sent twice on this socket.
        await ws.send_json({"type": "message", "id": "u9", "text": "vâng"})
        after = await receive_until(ws, "ack")
        assert all(
            m.get("seq", 1 << 60) > replayed[0]["seq"] for m in after if m["type"] == "message"
        )
    # Acknowledged messages are deleted: a later resume from 0 does not show them again.
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "resume", "seq": 0})
        await ws.send_json({"type": "message", "id": "u10", "text": "hello"})
        later = await receive_until(ws, "ack")
        assert "Tổ hỗ trợ: chị còn đó không?" not in [m.get("text") for m in later]


async def test_unacknowledged_replies_are_replayed_after_a_drop(
    client: TestClient[Any, Any],
) -> None:
    """Her socket dropped right after the server answered: the page shows the
    answer once after the reconnect, even though her resent message is a duplicate."""
    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "resume", "seq": 0})
        await ws.send_json({"type": "message", "id": "m1", "text": "tôi bị chồng đánh, cứu tôi"})
        lost = [m for m in await receive_until(ws, "ack") if m["type"] == "message"]
    # The page never saw those (no "seen"): it resumes from 0 and sends m1 again.
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "resume", "seq": 0})
        await ws.send_json({"type": "message", "id": "m1", "text": "tôi bị chồng đánh, cứu tôi"})
        again = [m for m in await receive_until(ws, "ack") if m["type"] == "message"]
    assert [m["seq"] for m in again] == [m["seq"] for m in lost]
    assert "113" in again[0]["text"]


async def test_quick_exit_drops_what_waits_for_her(
    client: TestClient[Any, Any], runtime: Any
) -> None:
    from sqlalchemy import func, select

    from bot.store.models import WebPending

    await client.get("/")
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "start", "id": "s1"})
        await receive_until(ws, "ack")
    async with runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(WebPending))
    assert (await client.post("/exit")).status == 204
    async with runtime.db.transaction() as s:
        assert not await s.scalar(select(func.count()).select_from(WebPending))


async def test_embedded_page_gets_a_session_without_cookies(runtime: Any) -> None:
    add_configured_channels(runtime)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    async with TestClient(server) as c:
        page = await c.get("/?embed=1")
        assert 'data-embed="1"' in await page.text()
        assert "frame-ancestors" in page.headers["Content-Security-Policy"]
        c.session.cookie_jar.clear()
        async with c.ws_connect("/ws?embed=1") as ws:
            await ws.send_json({"type": "session"})
            token = json.loads((await ws.receive()).data)["token"]
            await ws.send_json({"type": "start", "id": "s1"})
            assert (await receive_until(ws, "ack"))[0]["type"] == "message"
        c.session.cookie_jar.clear()
        async with c.ws_connect("/ws?embed=1") as ws:
            await ws.send_json({"type": "session", "token": token})
            await ws.send_json({"type": "start", "id": "s1"})
            assert [m["type"] for m in await receive_until(ws, "ack")] == ["ack"], "same session"
        assert (await c.get("/embed.js")).status == 200

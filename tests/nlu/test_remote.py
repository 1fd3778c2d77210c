"""Remote Rasa backend against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from nlu.engine import EmbeddedBackend
from nlu.remote import RasaHTTPBackend

RASA_ANSWER = {
    "text": "placeholder",
    "intent": {"name": "ask_rights", "confidence": 0.87},
    "intent_ranking": [
        {"name": "ask_rights", "confidence": 0.87},
        {"name": "ask_services", "confidence": 0.1},
    ],
    "entities": [
        {
            "entity": "area",
            "value": "Phường Ba Đình",
            "start": 0,
            "end": 7,
            "confidence_entity": 0.9,
            "extractor": "DIETClassifier",
        }
    ],
}


async def _rasa(request: web.Request) -> web.StreamResponse:
    mode = request.app["mode"]
    body = await request.json()
    request.app["seen"].append(body)
    if mode == "ok":
        return web.json_response({**RASA_ANSWER, "text": body["text"]})
    if mode == "500":
        return web.Response(status=500, text="boom")
    if mode == "garbage":
        return web.Response(text="<html>not json</html>", content_type="text/html")
    if mode == "wrong_shape":
        return web.json_response({"intent": "greet"})
    await asyncio.sleep(5)  # "slow"
    return web.json_response(RASA_ANSWER)


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    app = web.Application()
    app["mode"] = "ok"
    app["seen"] = []
    app.router.add_post("/model/parse", _rasa)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", app
    await runner.cleanup()


async def test_uses_rasa_answer(server: tuple[str, web.Application], backend: EmbeddedBackend):
    url, app = server
    remote = RasaHTTPBackend(url, timeout=2.0, fallback=backend)
    try:
        r: dict[str, Any] = await remote.parse("cho em hỏi về luật")
    finally:
        await remote.close()
    assert app["seen"] == [{"text": "cho em hỏi về luật"}]
    assert r["intent"] == {"name": "ask_rights", "confidence": 0.87}
    assert r["entities"][0]["extractor"] == "DIETClassifier"
    assert r["language"] == "vi" and remote.failures == 0


async def test_safety_net_overrides_remote(
    server: tuple[str, web.Application], backend: EmbeddedBackend
):
    url, _ = server
    remote = RasaHTTPBackend(url, fallback=backend)
    try:
        r = await remote.parse("ck dang bop co e")
    finally:
        await remote.close()
    assert r["intent"] == {"name": "emergency", "confidence": 1.0}
    assert [x["name"] for x in r["intent_ranking"]][:2] == ["emergency", "ask_rights"]


@pytest.mark.parametrize("mode", ["500", "garbage", "wrong_shape", "slow"])
async def test_falls_back_to_embedded(
    mode: str, server: tuple[str, web.Application], backend: EmbeddedBackend
):
    url, app = server
    app["mode"] = mode
    remote = RasaHTTPBackend(url, timeout=0.3, fallback=backend)
    try:
        r = await remote.parse("cảm ơn bạn nhiều")
    finally:
        await remote.close()
    assert r["intent"]["name"] == "thanks"
    assert remote.failures == 1


async def test_connection_refused_falls_back(backend: EmbeddedBackend):
    remote = RasaHTTPBackend("http://127.0.0.1:9", timeout=0.5, fallback=backend)
    try:
        r = await remote.parse("cứu em với")
    finally:
        await remote.close()
    assert r["intent"] == {"name": "emergency", "confidence": 1.0}
    assert remote.failures == 1


def test_sync_parse_falls_back(backend: EmbeddedBackend):
    remote = RasaHTTPBackend("http://127.0.0.1:9", timeout=0.5, fallback=backend)
    assert remote.parse_sync("xin chào")["intent"]["name"] == "greet"

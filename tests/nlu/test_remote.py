"""Remote Rasa backend against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from nlu import remote as remote_mod
from nlu.engine import EmbeddedBackend
from nlu.remote import RasaHTTPBackend, parse_url

FIXTURES = Path(__file__).parent / "data" / "rasa"

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
    request.app["queries"].append(dict(request.query))
    token = request.app.get("token")
    if token is not None and request.query.get("token") != token:
        # What Rasa started with --auth-token answers without the right token.
        return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
    if mode.startswith("fixture:"):
        answer = json.loads((FIXTURES / f"{mode[8:]}.json").read_text(encoding="utf-8"))
        return web.json_response({**answer, "text": body["text"]})
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
    app["queries"] = []
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


@pytest.mark.parametrize(
    ("url", "token", "expected"),
    [
        ("http://rasa:5005", None, "http://rasa:5005/model/parse"),
        ("http://rasa:5005/", None, "http://rasa:5005/model/parse"),
        ("http://rasa:5005?token=X", None, "http://rasa:5005/model/parse?token=X"),
        ("http://rasa:5005/?token=X", "Y", "http://rasa:5005/model/parse?token=Y"),
        ("https://h/nlu?a=1", "t k", "https://h/nlu/model/parse?a=1&token=t+k"),
        ("http://rasa:5005/model/parse?token=X", None, "http://rasa:5005/model/parse?token=X"),
    ],
)
def test_parse_url_keeps_the_query_string(url: str, token: str | None, expected: str):
    assert parse_url(url, token) == expected


async def test_token_is_sent_as_rasas_query_parameter(
    server: tuple[str, web.Application], backend: EmbeddedBackend
):
    url, app = server
    app["mode"], app["token"] = "fixture:rasa2_greet", "s3cret"
    for remote in (
        RasaHTTPBackend(f"{url}?lang=vi", fallback=backend, token="s3cret"),
        RasaHTTPBackend(f"{url}/?token=s3cret", fallback=backend),
    ):
        try:
            r = await remote.parse("xin chào")
        finally:
            await remote.close()
        assert r["intent"]["name"] == "greet" and remote.failures == 0
    assert app["queries"] == [{"lang": "vi", "token": "s3cret"}, {"token": "s3cret"}]
    # A wrong token is Rasa's 401: the embedded model answers.
    remote = RasaHTTPBackend(url, timeout=1.0, fallback=backend, token="wrong")
    try:
        r = await remote.parse("cảm ơn nhiều")
    finally:
        await remote.close()
    assert r["intent"]["name"] == "thanks" and remote.failures == 1


async def test_reads_rasa2_and_rasa3_answers(
    server: tuple[str, web.Application], backend: EmbeddedBackend
):
    url, app = server
    remote = RasaHTTPBackend(url, fallback=backend)
    try:
        app["mode"] = "fixture:rasa3_ask_rights"
        r3 = await remote.parse("ổng đánh em hồi trước, em ở Ba Đình, em có quyền gì")
        app["mode"] = "fixture:rasa2_greet"
        r2 = await remote.parse("chào bạn")
    finally:
        await remote.close()
    assert remote.failures == 0
    assert r3["intent"] == {"name": "ask_rights", "confidence": 0.9412847757339478}
    assert [x["name"] for x in r3["intent_ranking"]] == [
        "ask_rights",
        "disclose_abuse",
        "ask_services",
        "ask_safety",
        "request_human",
    ]
    area, who = r3["entities"]
    assert (area["role"], area["value"], who["group"]) == ("home", "Ba Đình", "1")
    assert "text_tokens" not in r3 and "response_selector" not in r3
    assert r2["intent"] == {"name": "greet", "confidence": 0.9983914494514465}
    assert set(r2["intent_ranking"][0]) == {"name", "confidence"}


async def test_rasa_no_intent_is_not_understood_without_warnings(
    server: tuple[str, web.Application], backend: EmbeddedBackend, caplog: pytest.LogCaptureFixture
):
    url, app = server
    app["mode"] = "fixture:rasa3_no_intent"
    remote = RasaHTTPBackend(url, fallback=backend)
    caplog.set_level(logging.WARNING, logger="nlu.remote")
    try:
        results = [await remote.parse("cảm ơn nhiều") for _ in range(5)]
        danger = await remote.parse("cuu toi voi")
    finally:
        await remote.close()
    assert all(r["intent"] == {"name": None, "confidence": 0.0} for r in results)
    assert remote.failures == 0 and caplog.records == []
    # The safety net still reads what Rasa did not understand.
    assert danger["intent"] == {"name": "emergency", "confidence": 1.0}


@pytest.mark.parametrize(
    "fixture",
    [
        "malformed_entities_not_list",
        "malformed_missing_confidence",
        "malformed_entity_fields",
        "malformed_ranking_not_list",
        "malformed_no_intent_key",
    ],
)
async def test_malformed_answers_fall_back(
    fixture: str, server: tuple[str, web.Application], backend: EmbeddedBackend
):
    url, app = server
    app["mode"] = f"fixture:{fixture}"
    remote = RasaHTTPBackend(url, fallback=backend)
    try:
        r = await remote.parse("cảm ơn bạn nhiều")
    finally:
        await remote.close()
    assert r["intent"]["name"] == "thanks"
    assert remote.failures == 1


async def test_circuit_breaker_skips_a_hung_server(
    server: tuple[str, web.Application], backend: EmbeddedBackend
):
    url, app = server
    app["mode"] = "slow"
    now = [1000.0]
    remote = RasaHTTPBackend(url, timeout=0.3, fallback=backend, clock=lambda: now[0])
    try:
        for _ in range(remote_mod.BREAKER_FAILURES):
            assert (await remote.parse("cảm ơn"))["intent"]["name"] == "thanks"
        assert remote.breaker_open and len(app["seen"]) == remote_mod.BREAKER_FAILURES
        t0 = time.perf_counter()
        for _ in range(20):
            assert (await remote.parse("cảm ơn"))["intent"]["name"] == "thanks"
        assert time.perf_counter() - t0 < 0.3  # 20 messages, none waits for the server
        assert len(app["seen"]) == remote_mod.BREAKER_FAILURES and remote.skipped == 20
        # After the pause one message tries again; the server is back.
        now[0] += remote_mod.BREAKER_SECONDS + 1
        app["mode"] = "ok"
        r = await remote.parse("cho em hỏi về luật")
        assert r["intent"]["name"] == "ask_rights" and not remote.breaker_open
        assert len(app["seen"]) == remote_mod.BREAKER_FAILURES + 1
    finally:
        await remote.close()


async def test_breaker_reopens_when_the_retry_fails(backend: EmbeddedBackend):
    now = [0.0]
    remote = RasaHTTPBackend(
        "http://127.0.0.1:9", timeout=0.5, fallback=backend, clock=lambda: now[0]
    )
    try:
        for _ in range(remote_mod.BREAKER_FAILURES):
            await remote.parse("xin chào")
        assert remote.breaker_open
        now[0] += remote_mod.BREAKER_SECONDS + 1
        assert not remote.breaker_open
        await remote.parse("xin chào")
        assert remote.breaker_open and remote.failures == remote_mod.BREAKER_FAILURES + 1
    finally:
        await remote.close()


async def test_helpline_nlu_token_setting_reaches_the_rasa_url(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path
):
    from bot.runtime import build_runtime
    from bot.settings import Settings

    monkeypatch.setenv("HELPLINE_NLU_TOKEN", "from-env")
    assert Settings(_env_file=None).nlu_token == "from-env"  # type: ignore[call-arg]
    from tests.conftest import make_settings

    rt = await build_runtime(
        make_settings(sqlite_url, tmp_path, nlu_url="http://127.0.0.1:9/?x=1", nlu_token="t0k")
    )
    try:
        assert rt.engine.nlu.url == "http://127.0.0.1:9/model/parse?x=1&token=t0k"
    finally:
        await rt.close()

"""Attack: make the webhooks crash (a 500 with a traceback, unauthenticated)
or work hard for a stranger: a secret header that is not UTF-8, JSON nested
a hundred thousand deep, a body of megabytes, oddly encoded bytes.

Defence: the secret or signature is checked before the body is parsed (a
stranger gets 403 for the cost of a header comparison), bodies are capped,
and whatever is malformed gets 400 or 413, never 500. The app runs with
Telegram, the Zalo Bot Platform and a Zalo Official Account configured
against their stand-ins; the requests are written byte by byte on a socket,
as a script would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import add_configured_channels, build_app
from bot.runtime import build_runtime
from tests.conftest import free_port, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZalo, now_ms, oa_signature

OA_KEY = "oa-secret-key-for-tests"
NESTED = b"[" * 100_000 + b"]" * 100_000


@dataclass
class Site:
    port: int
    telegram_secret: str
    zalo_bot_secret: str
    app_id: str


@pytest.fixture
async def site(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with FakeTelegramAPI() as tg, FakeZalo() as zalo:
        access, refresh = zalo.issue_pair()
        settings = make_settings(
            sqlite_url,
            tmp_path,
            http_port=port,
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_webhook_url=f"{url}/telegram/webhook",
            zalo_bot_token=zalo.bot_token,
            zalo_bot_api_base_url=zalo.bot_base_url,
            zalo_bot_webhook_url=f"{url}/zalo/bot/webhook",
            zalo_app_id=zalo.app_id,
            zalo_app_secret=zalo.app_secret,
            zalo_oa_secret_key=OA_KEY,
            zalo_oa_access_token=access,
            zalo_oa_refresh_token=refresh,
            zalo_oa_api_base_url=zalo.url,
            zalo_oauth_base_url=zalo.url,
        )
        runtime = await build_runtime(settings)
        add_configured_channels(runtime)
        runner = web.AppRunner(build_app(runtime), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        for channel in runtime.channels:
            await channel.start()
        bot_channel: Any = next(c for c in runtime.channels if c.name == "zalo_bot")
        try:
            assert tg.webhook is not None
            yield Site(port, tg.webhook["secret_token"], bot_channel.secret_token, zalo.app_id)
        finally:
            for channel in runtime.channels:
                await channel.stop()
            await runner.cleanup()
            await runtime.close()


async def post(port: int, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """One HTTP/1.1 POST written on the socket, header bytes exactly as given."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1"]
        lines += [name + b": " + value for name, value in headers]
        lines += [b"Content-Type: application/json", b"Content-Length: %d" % len(body)]
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        writer.write(body)
        await writer.drain()
        async with asyncio.timeout(30):
            status_line = await reader.readline()
        return int(status_line.split()[1])
    finally:
        writer.close()


TELEGRAM = ("/telegram/webhook", b"X-Telegram-Bot-Api-Secret-Token")
ZALO_BOT = ("/zalo/bot/webhook", b"X-Bot-Api-Secret-Token")


async def test_a_secret_header_that_is_not_utf8_is_refused_not_a_crash(site: Site) -> None:
    for path, header in (TELEGRAM, ZALO_BOT):
        for value in (b"\xff\xfe\xfa", b"caf\xe9", "tiếng".encode("cp1258", "replace")):
            status = await post(site.port, path, [(header, value)], b"{}")
            assert status == 403, f"{path} {value!r}: {status}"


async def test_nested_json_without_the_secret_is_refused_before_parsing(site: Site) -> None:
    for path, header in (TELEGRAM, ZALO_BOT):
        assert await post(site.port, path, [(header, b"wrong")], NESTED) == 403
    oa_headers = [(b"X-ZEvent-Signature", b"mac=" + b"0" * 64)]
    assert await post(site.port, "/zalo/oa/webhook", oa_headers, NESTED) == 403
    assert await post(site.port, "/zalo/oa/webhook", [], NESTED) == 403


async def test_malformed_bodies_with_the_right_secret_get_400_never_500(site: Site) -> None:
    bodies = [NESTED, b"\xff\xfe{not utf8", b"[1, 2]", b"{not json"]
    for path, header in (TELEGRAM, ZALO_BOT):
        secret = (site.telegram_secret if path == TELEGRAM[0] else site.zalo_bot_secret).encode()
        for body in bodies:
            status = await post(site.port, path, [(header, secret)], body)
            assert status == 400, f"{path} {body[:20]!r}: {status}"
        odd = b'{"update_id": {"a": [[[[]]]]}, "message": "\\ud800", "result": 7}'
        assert await post(site.port, path, [(header, secret)], odd) < 500
    # Zalo OA: signed (the signature covers the body and its timestamp) but nested.
    ts = now_ms()
    nested = b'{"timestamp": "%s", "x": ' % ts.encode() + NESTED + b"}"
    signature = oa_signature(site.app_id, nested, ts, OA_KEY).encode()
    status = await post(site.port, "/zalo/oa/webhook", [(b"X-ZEvent-Signature", signature)], nested)
    assert status == 400


async def test_bodies_past_the_cap_are_refused_unread(site: Site) -> None:
    huge = json.dumps({"update_id": 1, "pad": "x" * 600_000}).encode()
    for path, header in (TELEGRAM, ZALO_BOT):
        secret = (site.telegram_secret if path == TELEGRAM[0] else site.zalo_bot_secret).encode()
        assert await post(site.port, path, [(header, secret)], huge) == 413

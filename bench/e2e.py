"""End-to-end turn benchmark: simulated Telegram users → webhook → our bot
(real PTB, real NLU, real database) → Bot API stand-in; and, in the same run,
the same load against a bare PTB echo bot on the same stand-in: the floor of
the stack. Latency is one turn: update POSTed → every reply sent."""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, MessageHandler, filters

from bot.app import add_configured_channels, build_app
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI

TEXTS = [
    "xin chào",
    "toi bi ck danh moi khi say ruou",
    "tôi muốn biết quyền của mình",
    "so dien thoai ho tro la gi",
    "cảm ơn bạn",
]
SECRET = "bench-webhook-secret"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@asynccontextmanager
async def helpline_bot(api: FakeTelegramAPI, database_url: str, tmp: Path) -> AsyncIterator[str]:
    """Our whole bot in webhook mode; yields the webhook URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        secret_key="bench-" + "k" * 40,
        data_dir=tmp,
        http_port=port,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        telegram_webhook_url=url,
        # The echo bot has no rate limiter either: compare the stacks, not the cap.
        telegram_rate_limit=0,
        log_level="WARNING",
    )
    runtime = await build_runtime(settings)
    add_configured_channels(runtime)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    for channel in runtime.channels:
        await channel.start()
    await runtime.start_background()
    try:
        yield url
    finally:
        for channel in runtime.channels:
            await channel.stop()
        await runner.cleanup()
        await runtime.close()


@asynccontextmanager
async def echo_bot(api: FakeTelegramAPI) -> AsyncIterator[str]:
    """A bare PTB bot that echoes every text, behind the same kind of webhook."""
    port = _free_port()
    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(api.token).base_url(api.base_url).updater(None).build()
    )

    async def echo(update: Update, _context: Any) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app.add_handler(MessageHandler(filters.TEXT, echo))

    async def hook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return web.Response(status=403)
        await app.process_update(Update.de_json(await request.json(), app.bot))
        return web.Response()

    web_app = web.Application()
    web_app.router.add_post("/hook", hook)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await app.initialize()
    await app.start()
    url = f"http://127.0.0.1:{port}/hook"
    await app.bot.set_webhook(url, secret_token=SECRET)
    try:
        yield url
    finally:
        await app.stop()
        await app.shutdown()
        await runner.cleanup()


async def drive(api: FakeTelegramAPI, users: int, turns_per_user: int, first_chat: int) -> dict[str, Any]:
    """Each simulated person sends her messages one after the other (waiting for
    the answer), all people at once. Returns throughput and latency figures."""
    assert api.webhook is not None
    url, secret = api.webhook["url"], api.webhook.get("secret_token") or ""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def person(chat_id: int) -> None:
            nonlocal failures
            for turn in range(turns_per_user):
                update = api.user_message(chat_id, TEXTS[(chat_id + turn) % len(TEXTS)])
                started = time.perf_counter()
                async with http.post(url, data=json.dumps(update), headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        failures += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(person(first_chat + i) for i in range(users)))
        elapsed = time.perf_counter() - started
    total = users * turns_per_user
    return {
        "users": users,
        "turns": total,
        "failures": failures,
        "msgs_per_s": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
    }


async def compare(database_url: str, levels: list[int], turns_per_user: int = 5) -> list[dict[str, Any]]:
    """For each concurrency level: our bot and the echo bot, same stand-in, same load."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramAPI() as api:
            async with helpline_bot(api, database_url, Path(tmp)):
                ours = {n: await drive(api, n, turns_per_user, first_chat=1_000_000 * (i + 1)) for i, n in enumerate(levels)}
        async with FakeTelegramAPI() as api, echo_bot(api):
            echo = {n: await drive(api, n, turns_per_user, first_chat=1_000_000 * (i + 1)) for i, n in enumerate(levels)}
    for n in levels:
        rows.append(
            {
                "users": n,
                "ours": ours[n],
                "echo": echo[n],
                "throughput_ratio": round(ours[n]["msgs_per_s"] / echo[n]["msgs_per_s"], 2),
            }
        )
    return rows



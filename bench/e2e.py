"""End-to-end turn benchmark: simulated Telegram users → webhook → our bot
(``helpline run`` in its own process: real PTB, real NLU, real database) →
Bot API stand-in; and, in the same run, the same load against a bare PTB echo
bot (also its own process) on the same stand-in: the floor of the stack.
A turn's latency is: update POSTed to the webhook → every reply sent."""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from tests.fakes.telegram_api import FakeTelegramAPI

TEXTS = [
    "xin chào",
    "toi bi ck danh moi khi say ruou",
    "tôi muốn biết quyền của mình",
    "so dien thoai ho tro la gi",
    "cảm ơn bạn",
]
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def _wait_webhook(
    api: FakeTelegramAPI, proc: asyncio.subprocess.Process, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while api.webhook is None:
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError("the bot did not set its webhook")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _process(
    api: FakeTelegramAPI, args: list[str], env: dict[str, str], cwd: str
) -> AsyncIterator[None]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_webhook(api, proc)
        yield
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
        api.webhook = None


@asynccontextmanager
async def helpline_bot(api: FakeTelegramAPI, database_url: str) -> AsyncIterator[None]:
    port = _free_port()
    env = dict(
        CLEAN_ENV,
        HELPLINE_DATABASE_URL=database_url,
        HELPLINE_SECRET_KEY="94H7eVo_bU7TFVLWJT6JEbOOce0JVe9RBfwKzwmeL9Po5Qj-M0JwOg",
        HELPLINE_HTTP_PORT=str(port),
        HELPLINE_LOG_LEVEL="WARNING",
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
        # The echo bot has no rate limiter either: compare the stacks, not the cap.
        TELEGRAM_RATE_LIMIT="0",
    )
    with tempfile.TemporaryDirectory() as tmp:
        async with _process(api, ["-m", "bot.cli", "run"], env, tmp):
            yield


@asynccontextmanager
async def echo_bot(api: FakeTelegramAPI) -> AsyncIterator[None]:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["-m", "bench.echo_bot", str(_free_port()), api.base_url, api.token]
        env = dict(CLEAN_ENV, PYTHONPATH=os.getcwd())
        async with _process(api, args, env, tmp):
            yield


async def drive(
    api: FakeTelegramAPI, users: int, turns_per_user: int, first_chat: int, think: float = 0.0
) -> dict[str, Any]:
    """Each simulated person sends her messages one after the other, waiting
    for the answer and then ``think`` seconds (± 50 %); all people at once."""
    assert api.webhook is not None
    url, secret = api.webhook["url"], api.webhook.get("secret_token") or ""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    latencies: list[float] = []
    failures = 0
    rng = random.Random(first_chat)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def person(chat_id: int) -> None:
            nonlocal failures
            if think:
                await asyncio.sleep(rng.uniform(0, think))  # don't all start at once
            for turn in range(turns_per_user):
                update = api.user_message(chat_id, TEXTS[(chat_id + turn) % len(TEXTS)])
                started = time.perf_counter()
                async with http.post(url, data=json.dumps(update), headers=headers) as resp:
                    await resp.read()
                    failures += resp.status != 200
                latencies.append(time.perf_counter() - started)
                if think:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))

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


async def _measure(
    api: FakeTelegramAPI, levels: list[int], turns: int, paced_users: int, think: float
) -> dict[str, Any]:
    await drive(api, 10, 3, first_chat=1)  # warm up: caches, connections
    saturated = {
        n: await drive(api, n, turns, first_chat=1_000_000 * (i + 1)) for i, n in enumerate(levels)
    }
    paced = await drive(api, paced_users, max(3, turns), first_chat=90_000_000, think=think)
    return {"saturated": saturated, "paced": paced}


async def compare(
    database_url: str,
    levels: list[int],
    turns_per_user: int = 5,
    paced_users: int = 100,
    think: float = 1.0,
) -> dict[str, Any]:
    """For each concurrency level: our bot and the echo bot, same stand-in, same
    load. ``saturated``: no pause between a reply and the next message (maximum
    throughput); ``paced``: ``paced_users`` people each writing about once per
    ``think`` seconds (latency under a realistic load)."""
    async with FakeTelegramAPI() as api, helpline_bot(api, database_url):
        ours = await _measure(api, levels, turns_per_user, paced_users, think)
    async with FakeTelegramAPI() as api, echo_bot(api):
        echo = await _measure(api, levels, turns_per_user, paced_users, think)
    rows = [
        {
            "users": n,
            "ours": ours["saturated"][n],
            "echo": echo["saturated"][n],
            "throughput_ratio": round(
                ours["saturated"][n]["msgs_per_s"] / echo["saturated"][n]["msgs_per_s"], 2
            ),
        }
        for n in levels
    ]
    return {
        "saturated": rows,
        "paced": {"ours": ours["paced"], "echo": echo["paced"], "think_s": think},
    }

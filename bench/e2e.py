"""End-to-end turn benchmark: simulated Telegram users → our bot (``helpline
run`` in its own process: real PTB, real NLU, real database) → Bot API
stand-in; and, in the same run, the same load against a bare PTB echo bot
(also its own process) on the same stand-in: the floor of the stack.

Webhook: a turn's latency is the update POSTed to the webhook → every reply
sent (the webhook answers once the replies are out). Polling: the update
queued for ``getUpdates`` → the turn's last reply sent (how many replies a
turn has is learnt from the webhook run: the same texts in the same order
get the same answers)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
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
DANGER_TEXT = "cuu toi voi no dang danh toi"
CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))
}
#: (first text of the person, turn) → how many messages our bot answers with.
Expect = dict[tuple[int, int], int]


class BenchAPI(FakeTelegramAPI):
    """The stand-in, counting each chat's sent messages so that a polling
    person can wait for her answer without scanning the whole history."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_count: dict[int, int] = defaultdict(int)
        self._waiters: dict[int, tuple[int, asyncio.Future[None]]] = {}

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        result = await super()._api_sendMessage(params)
        chat = int(params["chat_id"])
        self.sent_count[chat] += 1
        waiter = self._waiters.get(chat)
        if waiter is not None and self.sent_count[chat] >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)
        return result

    async def wait_sent(self, chat: int, count: int, seconds: float) -> bool:
        if self.sent_count[chat] >= count:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[chat] = (count, future)
        try:
            await asyncio.wait_for(future, seconds)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.pop(chat, None)


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait_ready(
    api: FakeTelegramAPI, proc: asyncio.subprocess.Process, polling: bool, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while not (api.calls_to("getUpdates") if polling else api.webhook is not None):
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError("the bot did not start")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _process(
    api: FakeTelegramAPI, args: list[str], env: dict[str, str], cwd: str, polling: bool = False
) -> AsyncIterator[int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_ready(api, proc, polling)
        yield proc.pid
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
        api.webhook = None


@asynccontextmanager
async def helpline_bot(
    api: FakeTelegramAPI,
    database_url: str,
    *,
    polling: bool = False,
    rate_limit: float = 0,
    profile_to: str | None = None,
) -> AsyncIterator[int]:
    """``helpline run``; yields its pid. ``rate_limit`` 0: the echo bot has no
    cap either, so compare the stacks, not the cap."""
    port = _free_port()
    env = dict(
        CLEAN_ENV,
        HELPLINE_DATABASE_URL=database_url,
        HELPLINE_SECRET_KEY="94H7eVo_bU7TFVLWJT6JEbOOce0JVe9RBfwKzwmeL9Po5Qj-M0JwOg",
        HELPLINE_HTTP_PORT=str(port),
        HELPLINE_LOG_LEVEL="WARNING",
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_RATE_LIMIT=str(rate_limit),
        PYTHONPATH=os.getcwd(),
    )
    if not polling:
        env["TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram/webhook"
    args = ["-m", "bench.profiled", profile_to] if profile_to else ["-m", "bot.cli", "run"]
    with tempfile.TemporaryDirectory() as tmp:
        async with _process(api, args, env, tmp, polling) as pid:
            yield pid


@asynccontextmanager
async def echo_bot(api: FakeTelegramAPI, *, polling: bool = False) -> AsyncIterator[int]:
    with tempfile.TemporaryDirectory() as tmp:
        args = ["-m", "bench.echo_bot", str(_free_port()), api.base_url, api.token]
        if polling:
            args.append("poll")
        env = dict(CLEAN_ENV, PYTHONPATH=os.getcwd())
        async with _process(api, args, env, tmp, polling) as pid:
            yield pid


async def drive(
    api: BenchAPI,
    users: int,
    turns_per_user: int,
    first_chat: int,
    think: float = 0.0,
    *,
    polling: bool = False,
    pid: int | None = None,
    expect: Expect | None = None,
    learn: Expect | None = None,
) -> dict[str, Any]:
    """Each simulated person sends her messages one after the other, waiting
    for the answer and then ``think`` seconds (± 50 %); all people at once.
    ``learn`` records how many messages each turn got (webhook); ``expect``
    says how many to wait for (polling; 1 if unknown: the echo bot)."""
    latencies: list[float] = []
    failures = 0
    rng = random.Random(first_chat)
    headers = {"Content-Type": "application/json"}
    url = ""
    if not polling:
        assert api.webhook is not None
        url = api.webhook["url"]
        headers["X-Telegram-Bot-Api-Secret-Token"] = api.webhook.get("secret_token") or ""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def person(chat_id: int) -> None:
            nonlocal failures
            if think:
                await asyncio.sleep(rng.uniform(0, think))  # don't all start at once
            for turn in range(turns_per_user):
                shape = (chat_id % len(TEXTS), turn)
                update = api.user_message(chat_id, TEXTS[(chat_id + turn) % len(TEXTS)])
                before = api.sent_count[chat_id]
                started = time.perf_counter()
                if polling:
                    await api.push_update(update)
                    wanted = before + (expect or {}).get(shape, 1)
                    failures += not await api.wait_sent(chat_id, wanted, 60)
                else:
                    async with http.post(url, data=json.dumps(update), headers=headers) as resp:
                        await resp.read()
                        failures += resp.status != 200
                latencies.append(time.perf_counter() - started)
                if learn is not None:
                    learn[shape] = api.sent_count[chat_id] - before
                if think:
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))

        cpu_before = cpu_seconds(pid) if pid else float("nan")
        started = time.perf_counter()
        await asyncio.gather(*(person(first_chat + i) for i in range(users)))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before if pid else float("nan")
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
        "cpu_ms_per_turn": round(cpu * 1000 / total, 2),
    }


#: Each level is driven this many times, the two bots taking turns, and each
#: keeps its best round: the machine is shared, and a busy moment should not
#: decide a ratio (noise only ever slows a round down).
ROUNDS = 2


async def _side_by_side(
    echo: tuple[BenchAPI, int],
    ours: tuple[BenchAPI, int],
    levels: list[int],
    turns: int,
    *,
    polling: bool,
    ours_kw: dict[str, Any],
) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Saturated runs of the echo bot and ours, alternating at every level."""
    # Polling meets the same database as the webhook run: other people (the
    # engine would take the same message ids of the same person as redeliveries).
    base = 500_000 if polling else 0
    await drive(echo[0], 10, 3, first_chat=base + 1, polling=polling)  # warm up
    await drive(ours[0], 10, 3, first_chat=base + 1, polling=polling, **ours_kw)
    echo_rows: dict[int, dict[str, Any]] = {}
    ours_rows: dict[int, dict[str, Any]] = {}
    for i, n in enumerate(levels):
        for r in range(ROUNDS):
            first = base + 1_000_000 * (i + 1) + 10_000 * r
            # At least 100 turns a round: enough for the CPU clock's 10 ms ticks.
            each = max(turns, -(-100 // n))
            e = await drive(echo[0], n, each, first, polling=polling, pid=echo[1])
            o = await drive(ours[0], n, each, first, polling=polling, pid=ours[1], **ours_kw)
            echo_rows[n] = _best(echo_rows.get(n), e)
            ours_rows[n] = _best(ours_rows.get(n), o)
    return echo_rows, ours_rows


def _best(kept: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    return new if kept is None or new["msgs_per_s"] > kept["msgs_per_s"] else kept


def _ratio(ours: float, echo: float) -> float:
    """ours ÷ echo; NaN when the echo bot's CPU was below the clock's tick."""
    return round(ours / echo, 2) if echo > 0 else float("nan")


def _rows(ours: dict[int, Any], echo: dict[int, Any]) -> list[dict[str, Any]]:
    return [
        {
            "users": n,
            "ours": ours[n],
            "echo": echo[n],
            "throughput_ratio": round(ours[n]["msgs_per_s"] / echo[n]["msgs_per_s"], 2),
            "cpu_ratio": _ratio(ours[n]["cpu_ms_per_turn"], echo[n]["cpu_ms_per_turn"]),
        }
        for n in ours
    ]


async def compare(
    database_url: str, levels: list[int], turns_per_user: int = 5, paced_users: int = 100
) -> dict[str, Any]:
    """Per concurrency level: our bot and the echo bot, same stand-in, same
    load, by webhook and by polling. ``saturated``: no pause between a reply
    and the next message (maximum throughput); ``paced``: ``paced_users``
    people writing, together, half as many messages a second as the echo bot
    handles saturated at its busiest level (latency under a load the stack
    can carry)."""
    learnt: Expect = {}
    paced_turns = max(3, turns_per_user)
    async with (
        BenchAPI() as echo_api,
        echo_bot(echo_api) as echo_pid,
        BenchAPI() as ours_api,
        helpline_bot(ours_api, database_url) as ours_pid,
    ):
        echo, ours = await _side_by_side(
            (echo_api, echo_pid),
            (ours_api, ours_pid),
            levels,
            turns_per_user,
            polling=False,
            ours_kw={"learn": learnt},
        )
        rate = 0.5 * max(r["msgs_per_s"] for r in echo.values())
        think = round(paced_users / rate, 3)
        echo_paced = await drive(echo_api, paced_users, paced_turns, 90_000_000, think)
        ours_paced = await drive(ours_api, paced_users, paced_turns, 90_000_000, think)
    async with (
        BenchAPI() as echo_api,
        echo_bot(echo_api, polling=True) as echo_pid,
        BenchAPI() as ours_api,
        helpline_bot(ours_api, database_url, polling=True) as ours_pid,
    ):
        echo_poll, ours_poll = await _side_by_side(
            (echo_api, echo_pid),
            (ours_api, ours_pid),
            levels,
            turns_per_user,
            polling=True,
            ours_kw={"expect": learnt},
        )
    return {
        "saturated": _rows(ours, echo),
        "polling": _rows(ours_poll, echo_poll),
        "paced": {
            "ours": ours_paced,
            "echo": echo_paced,
            "think_s": think,
            "offered_msgs_per_s": round(rate, 1),
        },
    }


async def danger_lane(
    database_url: str, cap: float = 30.0, crowd: int = 100, seconds: float = 15.0
) -> dict[str, Any]:
    """With Telegram's overall cap on (``cap`` messages a second), ``crowd``
    people write ordinary messages as fast as they are answered, which fills
    the cap so that replies queue; meanwhile, a few people at a time write that
    they are being beaten. Their 113 answers should not wait in that queue."""
    ordinary: list[float] = []
    danger: list[float] = []
    stop = asyncio.Event()
    async with (
        BenchAPI() as api,
        helpline_bot(api, database_url, rate_limit=cap),
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
    ):
        assert api.webhook is not None
        url = api.webhook["url"]
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": api.webhook.get("secret_token") or "",
        }

        async def post(chat: int, text: str) -> float:
            started = time.perf_counter()
            body = json.dumps(api.user_message(chat, text))
            async with http.post(url, data=body, headers=headers) as resp:
                await resp.read()
            return time.perf_counter() - started

        async def ordinary_person(chat: int) -> None:
            turn = 0
            while not stop.is_set():
                ordinary.append(await post(chat, TEXTS[(chat + turn) % len(TEXTS)]))
                turn += 1

        async def in_danger(chat: int) -> None:
            await asyncio.sleep(2.0 + random.Random(chat).uniform(0, 1))  # let the queue fill
            while not stop.is_set():
                danger.append(await post(chat, DANGER_TEXT))
                await asyncio.sleep(0.5)

        started = time.perf_counter()
        crowd_tasks = [asyncio.create_task(ordinary_person(70_000_000 + i)) for i in range(crowd)]
        danger_tasks = [asyncio.create_task(in_danger(80_000_000 + i)) for i in range(10)]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*crowd_tasks, *danger_tasks)
        # Until the queue has drained: every reply sent, so the rate is the cap's.
        elapsed = time.perf_counter() - started
        sent = len(api.calls_to("sendMessage"))
    return {
        "cap_msgs_per_s": cap,
        "crowd": crowd,
        "seconds": seconds,
        "sent_msgs_per_s": round(sent / elapsed, 1),
        "ordinary": _summary(ordinary),
        "danger": _summary(danger),
    }


def _summary(latencies: list[float]) -> dict[str, Any]:
    return {
        "turns": len(latencies),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
    }


async def profile(database_url: str, prefix: str, users: int = 20, turns: int = 25) -> None:
    """Our bot under cProfile and a stack sampler, a saturated load of
    ``users`` × ``turns`` by webhook; files under ``prefix``.* (an absolute path:
    the bot runs in a directory of its own)."""
    async with BenchAPI() as api:
        async with helpline_bot(api, database_url, profile_to=prefix) as pid:
            await drive(api, 10, 3, first_chat=1)  # warm up
            os.kill(pid, signal.SIGUSR1)
            await asyncio.sleep(0.1)
            await drive(api, users, turns, first_chat=5_000_000)
            os.kill(pid, signal.SIGUSR1)

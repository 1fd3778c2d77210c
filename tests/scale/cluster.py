"""N real ``helpline run`` processes on one database, behind a test-side
"load balancer" that POSTs Telegram updates to any of them, and one Bot API
stand-in (``FakeTelegramAPI``) in the test process that all of them talk to.

Nothing of ours is mocked: each process is ``python -m bot.cli run`` with its
own port, the same database, secret and teams file, as docs/deployment.md says.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.conftest import SECRET, free_port
from tests.fakes.telegram_api import ChatMessage, FakeTelegramAPI

GROUP_A, GROUP_B = -1001000000001, -1001000000002
#: Realistic (long) Telegram user ids, so a search of raw bytes finds only them.
HOA, LAN, MAI = 6_100_200_301, 6_100_200_302, 6_100_200_303
#: What a process prints once every channel is started (bot/app.py).
READY_LINE = "helpline is running"

TEAMS: dict[str, Any] = {
    "teams": [
        {
            "id": "phu-hung",
            "name": "Tổ phản ứng nhanh xã Phú Hưng",
            "areas": ["Phú Hưng"],
            "telegram_group_id": GROUP_A,
            "members": [
                {"telegram_user_id": HOA, "alias": "Hoa"},
                {"telegram_user_id": LAN, "alias": "Lan"},
            ],
        },
        {
            "id": "ben-tre",
            "name": "Tổ tỉnh Bến Tre",
            "areas": ["Bến Tre"],
            "telegram_group_id": GROUP_B,
            "members": [{"telegram_user_id": MAI, "alias": "Mai"}],
        },
    ],
    "fallback_team": "ben-tre",
    "claim_timeout_minutes": 10,
    "idle_reminder_minutes": 30,
}

CLEAN_ENV = {
    k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))
}


def write_teams(directory: Path, teams: dict[str, Any] | None = None) -> Path:
    path = directory / "teams.yml"
    path.write_text(yaml.safe_dump(teams or TEAMS, allow_unicode=True), encoding="utf-8")
    return path


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def sql(database_url: str, query: str, *args: Any) -> list[Any]:
    """Run one statement directly (to read the outbox, or to move a row's clock
    back), on PostgreSQL or SQLite; returns the rows."""
    if database_url.startswith("sqlite"):
        return await asyncio.to_thread(_sqlite, database_url, query, args)
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def _sqlite(database_url: str, query: str, args: tuple[Any, ...]) -> list[Any]:
    import sqlite3

    conn = sqlite3.connect(database_url.split(":///", 1)[1], timeout=10)
    try:
        rows = conn.execute(query, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


class BotProcess:
    """One ``helpline run``; its output goes to a log file shown on failure."""

    def __init__(self, index: int, env: dict[str, str], workdir: Path) -> None:
        self.index = index
        self.port = int(env["HELPLINE_HTTP_PORT"])
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"helpline-{index}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def output(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[self._log_offset :].decode("utf-8", "replace")

    async def wait_ready(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.output():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"process {self.index} exited:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"process {self.index} not ready:\n{self.output()[-3000:]}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.to_thread(self.proc.wait, 20)
        except subprocess.TimeoutExpired:
            self.kill()


class Cluster:
    """The processes, the stand-in, and the helpers a test drives them with."""

    def __init__(
        self,
        api: FakeTelegramAPI,
        database_url: str,
        workdir: Path,
        n: int = 3,
        *,
        teams: dict[str, Any] | None = None,
        extra_env: dict[str, str] | None = None,
        webhook: bool = True,
    ) -> None:
        self.api = api
        self.database_url = database_url
        self.workdir = workdir
        teams_file = write_teams(workdir, teams)
        self.processes: list[BotProcess] = []
        for i in range(n):
            port = free_port()
            env = dict(
                CLEAN_ENV,
                HELPLINE_DATABASE_URL=database_url,
                HELPLINE_SECRET_KEY=SECRET,
                HELPLINE_HTTP_PORT=str(port),
                HELPLINE_DATA_DIR=str(workdir),
                HELPLINE_TEAMS_FILE=str(teams_file),
                HELPLINE_LOG_LEVEL="WARNING",
                TELEGRAM_BOT_TOKEN=api.token,
                TELEGRAM_API_BASE_URL=api.base_url,
                TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/webhook",
                TELEGRAM_RATE_LIMIT="0",
            )
            if not webhook:  # long polling
                del env["TELEGRAM_WEBHOOK_URL"]
            env.update(extra_env or {})
            self.processes.append(BotProcess(i, env, workdir))
        self._rr = itertools.cycle(range(n))
        #: Telegram profiles (first_name, last_name, username) by user id, put
        #: into every update from that person as Telegram would.
        self.profiles: dict[int, dict[str, str]] = {}
        self.webhook = webhook
        #: (time, status) of every try made by deliver_until_ok (0 = no answer).
        self.statuses: list[tuple[float, int]] = []
        #: With ``echo`` > 0 every update is delivered a second time, to a random
        #: process, after a random delay of up to ``echo`` seconds.
        self.echo = 0.0
        self.echo_statuses: list[int] = []
        self._echoes: list[asyncio.Task[None]] = []
        self._random = random.Random(7)

    async def start(self) -> None:
        # The first process runs the migrations alone; the others start together.
        self.processes[0].start()
        await self.processes[0].wait_ready()
        for p in self.processes[1:]:
            p.start()
        await asyncio.gather(*(p.wait_ready() for p in self.processes[1:]))
        if self.webhook:
            assert self.api.webhook is not None and self.api.webhook.get("secret_token")
            secrets = {c.params.get("secret_token") for c in self.api.calls_to("setWebhook")}
            assert len(secrets) == 1, "every process must accept the same webhook secret"

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.processes))

    def logs(self) -> str:
        return "\n".join(f"--- process {p.index}\n{p.output()[-4000:]}" for p in self.processes)

    # -- the load balancer -------------------------------------------------

    def next_index(self) -> int:
        return next(self._rr)

    async def deliver(self, update: dict[str, Any], to: int | None = None) -> int:
        """POST one update to process ``to`` (round robin by default); the status."""
        index = self.next_index() if to is None else to
        self._dress(update)
        if self.echo > 0:
            self._echoes.append(asyncio.create_task(self._deliver_again(copy.deepcopy(update))))
        return await self.api.deliver_webhook(update, url=self.processes[index].url)

    async def _deliver_again(self, update: dict[str, Any]) -> None:
        await asyncio.sleep(self._random.uniform(0, self.echo))
        index = self._random.randrange(len(self.processes))
        self.echo_statuses.append(
            await self.api.deliver_webhook(update, url=self.processes[index].url)
        )

    async def echoes_done(self) -> list[int]:
        """Wait for every second delivery; their HTTP statuses."""
        while self._echoes:
            batch, self._echoes = self._echoes, []
            await asyncio.gather(*batch)
        return self.echo_statuses

    def _dress(self, update: dict[str, Any]) -> None:
        for kind in ("message", "callback_query"):
            body = update.get(kind)
            if body is None:
                continue
            profile = self.profiles.get(int(body["from"]["id"]))
            if profile:
                body["from"].update(profile)
                chat = body.get("chat") or {}
                if chat.get("type") == "private":
                    chat.update(profile)

    async def deliver_ok(self, update: dict[str, Any], to: int | None = None) -> int:
        status = await self.deliver(update, to)
        assert status == 200, f"webhook answered {status}\n{self.logs()}"
        return status

    async def deliver_until_ok(
        self,
        update: dict[str, Any],
        *,
        timeout: float = 60.0,  # noqa: ASYNC109
        alive: Iterable[int] | None = None,
    ) -> int:
        """Telegram's behaviour: an update not acknowledged with 200 is sent
        again (to any process) until it is. Returns how many tries it took."""
        deadline = time.monotonic() + timeout
        targets = list(alive) if alive is not None else list(range(len(self.processes)))
        tries = 0
        while True:
            tries += 1
            index = targets[tries % len(targets)]
            try:
                status = await self.deliver(update, index)
            except (OSError, aiohttp.ClientError):  # that process is down or died mid-call
                status = 0
            self.statuses.append((time.monotonic(), status))
            if status == 200:
                return tries
            if time.monotonic() > deadline:
                raise TimeoutError(f"update never acknowledged (last {status})\n{self.logs()}")
            await asyncio.sleep(0.2)

    # -- a person and a team member, as the tests drive them -----------------

    async def say(
        self, chat: int, text: str, to: int | None = None, **content: Any
    ) -> list[ChatMessage]:
        before = len(self.api.sent_to(chat))
        await self.deliver_ok(self.api.user_message(chat, text, **content), to)
        return self.api.sent_to(chat)[before:]

    async def tap(self, chat: int, label_part: str, to: int | None = None) -> list[ChatMessage]:
        shown = next(
            m
            for m in reversed(self.api.sent_to(chat))
            if any(label_part.lower() in b[0].lower() for b in m.buttons)
        )
        payload = next(d for label, d in shown.buttons if label_part.lower() in label.lower())
        before = len(self.api.sent_to(chat))
        await self.deliver_ok(self.api.press(chat, shown.message_id, payload), to)
        return self.api.sent_to(chat)[before:]

    async def ask_for_team(self, chat: int, area: str = "phu hung") -> None:
        """Consent → (discreet question) → area → topic: her request is queued."""
        await self.say(chat, "tôi muốn nói chuyện với người thật")
        await self.tap(chat, "Đồng ý")
        if any("kín đáo" in label for m in self.api.sent_to(chat)[-1:] for label, _ in m.buttons):
            await self.tap(chat, "bình thường")
        await self.say(chat, area)
        await self.tap(chat, "Đúng")  # confirms the unit understood
        queued = await self.tap(chat, "Bạo lực")
        if any("Đồng ý chia sẻ" in label for m in queued for label, _ in m.buttons):
            # The questions before connecting: share the summary, safe to talk.
            await self.tap(chat, "Đồng ý chia sẻ")
            queued = await self.tap(chat, "An toàn")
        assert any("113" in (m.text or "") for m in queued), [m.text for m in queued]

    def cards(self, group: int) -> list[ChatMessage]:
        """Request cards posted in a team group (as sent: later edits aside)."""
        return [m for m in self.api.sent_to(group) if "New request" in str(m.params.get("text"))]

    async def wait_cards(self, group: int, count: int, timeout: float = 30.0) -> list[ChatMessage]:  # noqa: ASYNC109
        try:
            await self.api.wait_until(lambda: len(self.cards(group)) >= count, timeout)
        except TimeoutError:
            raise AssertionError(f"{count} cards never reached {group}\n{self.logs()}") from None
        return self.cards(group)

    def texts(self, chat: int) -> list[str]:
        return [m.text or "" for m in self.api.sent_to(chat)]

    async def wait_texts(
        self,
        chat: int,
        predicate: Callable[[list[str]], bool],
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> list[str]:
        try:
            await self.api.wait_until(lambda: predicate(self.texts(chat)), timeout)
        except TimeoutError:
            raise AssertionError(
                f"chat {chat} never got there: {self.texts(chat)}\n{self.logs()}"
            ) from None
        return self.texts(chat)

    async def outbox_settled(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Wait until no outbox row is waiting or being sent."""
        deadline = time.monotonic() + timeout
        while True:
            rows = await sql(
                self.database_url,
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')",
            )
            if rows[0][0] == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"outbox not drained: {rows[0][0]} rows\n{self.logs()}")
            await asyncio.sleep(0.2)


def alias_of(card: ChatMessage) -> str:
    """``K7Q2`` from a request card."""
    text = str(card.params.get("text"))
    return next(word for word in text.split() if word.startswith("#")).lstrip("#")

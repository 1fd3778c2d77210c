"""Attacks on a real ``helpline run`` (SQLite, log level DEBUG as someone
debugging would set it): watching /metrics from outside, reading the
database files as another local user, reading the logs.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import free_port
from tests.scale.cluster import BotProcess
from tests.security.conftest import ATTACKER_IP, client_from, console_login, helpline_env

CANARY_LOGIN = "zq-login-canary-771"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    workdir = tmp_path_factory.mktemp("running")
    env = helpline_env(
        f"sqlite+aiosqlite:///{workdir / 'helpline.db'}",
        workdir,
        HELPLINE_LOG_LEVEL="DEBUG",
        HELPLINE_METRICS_PORT=str(free_port()),
    )
    process = BotProcess(0, env, workdir)
    process.start()
    try:
        asyncio.run(process.wait_ready())
        yield process
    finally:
        asyncio.run(process.stop())


def base(process: BotProcess) -> str:
    return f"http://127.0.0.1:{process.port}"


async def test_metrics_are_not_served_on_the_public_port(server: BotProcess) -> None:
    async with client_from(ATTACKER_IP) as attacker:
        async with attacker.get(base(server) + "/metrics") as resp:
            assert resp.status == 404
            assert "helpline_" not in await resp.text()
    # The operator's scraper, on the machine itself, reads them on their own port.
    port = server.env["HELPLINE_METRICS_PORT"]
    async with aiohttp.ClientSession() as local:
        async with local.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            assert "helpline_turns" in await resp.text()


async def test_database_files_are_readable_by_the_owner_only(server: BotProcess) -> None:
    async with aiohttp.ClientSession() as c:  # something written, so the WAL exists
        await console_login(c, base(server), "someone", "not a password at all")
    files = [
        server.workdir / name for name in ("helpline.db", "helpline.db-wal", "helpline.db-shm")
    ]
    for path in files:
        assert path.exists(), path
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{path.name} is {oct(mode)}"


async def test_debug_logs_hold_no_sql_parameters_and_no_client_ip(server: BotProcess) -> None:
    async with client_from(ATTACKER_IP) as attacker:
        status = await console_login(attacker, base(server), CANARY_LOGIN, "typed password 123")
        assert status == 401
        async with attacker.get(base(server) + "/") as resp:
            assert resp.status == 200
    await asyncio.sleep(0.5)
    log = server.output()
    assert "DEBUG" in log or "INFO" in log, "the log is being written"
    assert CANARY_LOGIN not in log, "a login name (maybe a password) reached the log"
    assert ATTACKER_IP not in log, "a client IP reached the log"


def test_database_errors_do_not_carry_parameters(tmp_path: Path) -> None:
    """A failing statement's message (what lands in a traceback) names no
    pseudonym or sealed value."""
    from sqlalchemy.exc import IntegrityError

    from bot.messages import utcnow
    from bot.store.db import Database
    from bot.store.models import User

    pseudonym = "f" * 20 + "0123456789abcdef" * 2 + "e" * 12

    async def main() -> str:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
        await db.upgrade()
        row = dict(
            key=pseudonym,
            channel="web",
            address_enc="sealed-canary-value",
            state={},
            recent_refs=[],
            created_at=utcnow(),
            last_seen_at=utcnow(),
        )
        try:
            async with db.transaction() as s:
                s.add(User(**row))
            with pytest.raises(IntegrityError) as err:
                async with db.transaction() as s:
                    s.add(User(**row))
            return str(err.value)
        finally:
            await db.dispose()

    message = asyncio.run(main())
    assert "UNIQUE" in message or "unique" in message
    assert pseudonym not in message and "sealed-canary-value" not in message

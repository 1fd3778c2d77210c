"""Attacks on production defaults: a guessable secret (anyone who guesses it
can compute every pseudonym and open every sealed address), a demo account
left open on a real deployment, an account in no team reading statistics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.console import auth
from bot.console.models import ConsoleAccount
from bot.store.db import Database
from tests.conftest import make_settings
from tests.scale.cluster import BotProcess
from tests.security.conftest import (
    ATTACKER_IP,
    app_server,  # noqa: F401  (fixture)
    client_from,
    console_login,
    helpline_env,
    teams_file,
)


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HELPLINE_SECRET_KEY", "a" * 32),
        ("HELPLINE_SECRET_KEY", "helpline-helpline-helpline-2026!"),
        ("HELPLINE_OLD_SECRET_KEYS", "b" * 40),
    ],
)
def test_a_guessable_secret_is_refused(
    tmp_path: Path, sqlite_url: str, variable: str, value: str
) -> None:
    env = helpline_env(sqlite_url, tmp_path, **{variable: value})
    out = run_cli(env, tmp_path, "db", "upgrade")
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], out.stderr
    assert value not in out.stderr


async def test_no_demo_account_on_postgresql_without_helpline_demo(
    postgres_url: str, tmp_path: Path
) -> None:
    # A demo account left over from a trial run on the same database.
    db = Database(postgres_url)
    await db.upgrade()
    await auth.set_password(db, "demo", "left over demo pw 1", check=False)
    await db.dispose()
    env = helpline_env(postgres_url, tmp_path)
    process = BotProcess(0, env, tmp_path)
    process.start()
    try:
        await process.wait_ready()
        assert "login: demo" not in process.output()
        async with client_from(ATTACKER_IP) as attacker:
            base = f"http://127.0.0.1:{process.port}"
            assert await console_login(attacker, base, "demo", "left over demo pw 1") == 401
    finally:
        await process.stop()
    db = Database(postgres_url)
    try:
        async with db.transaction() as s:
            assert await s.get(ConsoleAccount, "demo") is None, "the demo account was removed"
    finally:
        await db.dispose()


def test_a_weak_demo_password_is_refused_and_not_printed(tmp_path: Path, sqlite_url: str) -> None:
    env = helpline_env(sqlite_url, tmp_path, HELPLINE_DEMO="1", HELPLINE_DEMO_PASSWORD="1")
    out = run_cli(env, tmp_path, "run")
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert "HELPLINE_DEMO_PASSWORD" in out.stderr
    assert "login: demo" not in out.stdout


@pytest.fixture
async def runtime(sqlite_url: str, tmp_path: Path) -> Any:
    from bot.runtime import build_runtime

    settings = make_settings(sqlite_url, tmp_path, teams_file=teams_file(tmp_path))
    rt = await build_runtime(settings)
    try:
        yield rt
    finally:
        await rt.close()


async def test_an_account_in_no_team_cannot_read_statistics(
    runtime: Any,
    app_server: TestServer,  # noqa: F811
) -> None:
    await auth.set_password(runtime.db, "former-member", "a long old password")
    base = str(app_server.make_url("")).rstrip("/")
    async with client_from(ATTACKER_IP) as attacker:
        assert await console_login(attacker, base, "former-member", "a long old password") == 303
        async with attacker.get(base + "/team/stats", allow_redirects=False) as resp:
            assert resp.status == 403
            assert "north" not in await resp.text()

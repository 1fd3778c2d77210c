"""Shared fixtures: real databases (a temporary SQLite file, and a fresh
PostgreSQL database per test when the server is reachable — always in CI)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"
#: A random-looking constant: settings refuse guessable secrets such as "x" * 40.
SECRET = "QFaVGRxUIXa18gW6J7HndpigJcY9SG2Hh2uuD6bu6TTjyYb-zRYzEQ"


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip on a laptop without PostgreSQL; in CI a missing server is a failure."""
    if postgres_reachable():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 but CI=true requires it")
    pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    require_postgres()
    name = "hl_" + uuid.uuid4().hex[:12]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Any:
    """Settings for a test: explicit values only, no .env file, no tokens."""
    from bot.settings import Settings

    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": SECRET,
        "data_dir": tmp_path,
        "http_port": free_port(),
        "telegram_bot_token": None,
        "zalo_bot_token": None,
        "zalo_app_id": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """A real runtime (database, NLU, flows, outbox, handoff) without channels."""
    from bot.runtime import build_runtime

    # demo=True: the demo team on PostgreSQL too (without it, and without a
    # teams file, a PostgreSQL deployment has no handoff at all).
    rt = await build_runtime(make_settings(database_url, tmp_path, demo=True))
    try:
        yield rt
    finally:
        await rt.close()

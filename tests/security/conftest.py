"""Helpers for the attacker's scripts: a real ``helpline run`` process or the
app on a real port, HTTP clients that come from a chosen loopback address
(Linux answers on all of 127.0.0.0/8), and the console login form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import add_configured_channels, build_app
from tests.conftest import SECRET, free_port
from tests.scale.cluster import CLEAN_ENV, BotProcess

ATTACKER_IP = "127.0.0.2"
MEMBER_IP = "127.0.0.1"

TEAMS_YAML = """
teams:
  - id: north
    name: North team
    areas: ["*"]
    console_group: north-queue
    members:
      - {alias: Hoa, console_id: hoa}
  - id: south
    name: South team
    areas: ["Bến Tre"]
    console_group: south-queue
    members:
      - {alias: Lan, console_id: lan}
fallback_team: north
"""


def teams_file(directory: Path) -> Path:
    path = directory / "teams.yml"
    path.write_text(TEAMS_YAML, encoding="utf-8")
    return path


def client_from(ip: str) -> aiohttp.ClientSession:
    """A browser on another machine: its connections come from ``ip``."""
    connector = aiohttp.TCPConnector(local_addr=(ip, 0), force_close=True)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def console_login(
    session: aiohttp.ClientSession,
    base: str,
    login: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> int:
    """What a browser does: fetch the form (its CSRF cookie), post it.
    ``headers``: what a reverse proxy adds (X-Forwarded-For)."""
    async with session.get(base + "/team/login", headers=headers) as page:
        html = await page.text()
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:300]
    async with session.post(
        base + "/team/login",
        data={"csrf": match.group(1), "login": login, "password": password},
        headers=headers,
        allow_redirects=False,
    ) as resp:
        return resp.status


@pytest.fixture
async def app_server(runtime: Any) -> AsyncIterator[TestServer]:
    """The whole application (every configured channel) on a real port."""
    add_configured_channels(runtime)
    for channel in runtime.channels:
        if hasattr(channel, "ensure_demo_account"):
            await channel.start()
    server = TestServer(build_app(runtime), host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def helpline_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    env = dict(
        CLEAN_ENV,
        HELPLINE_DATABASE_URL=database_url,
        HELPLINE_SECRET_KEY=SECRET,
        HELPLINE_HTTP_PORT=str(free_port()),
        HELPLINE_DATA_DIR=str(workdir),
        HELPLINE_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


async def started(env: dict[str, str], workdir: Path, index: int = 0) -> BotProcess:
    process = BotProcess(index, env, workdir)
    process.start()
    try:
        await process.wait_ready()
    except BaseException:
        await process.stop()
        raise
    return process

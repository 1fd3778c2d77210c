"""A real server (runtime + app on 127.0.0.1, a free port) in a background
thread, and headless Debian Chromium driven by Playwright's sync API.

The browser tests skip when /usr/bin/chromium is missing, unless CI=true."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import free_port, make_settings

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
DEMO_PASSWORD = "demo-password-for-tests"
PASSWORD = "a long team password"

TEAMS_YAML = """
teams:
  - id: north
    name: North team
    areas: ["Hà Nội"]
    console_group: north-queue
    members:
      - alias: Hoa
        console_id: hoa
  - id: south
    name: South team
    areas: ["Cần Thơ"]
    console_group: south-queue
    members:
      - alias: Lan
        console_id: lan
fallback_team: north
"""

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI") == "true":
        return  # the browser fixture fails loudly
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (set CI=true to make this a failure)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@dataclass
class Server:
    url: str
    exit_url: str
    runtime: Any
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from aiohttp import web

    from bot.app import add_configured_channels, build_app
    from bot.console import auth
    from bot.runtime import build_runtime

    tmp = tmp_path_factory.mktemp("browser")
    teams = tmp / "teams.yml"
    teams.write_text(TEAMS_YAML, encoding="utf-8")
    port, exit_port = free_port(), free_port()
    exit_url = f"http://127.0.0.1:{exit_port}/neutral"
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp / 'helpline.db'}",
        tmp,
        http_port=port,
        exit_url=exit_url,
        teams_file=teams,
        demo_password=DEMO_PASSWORD,
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    holder: dict[str, Any] = {}

    async def neutral(request: web.Request) -> web.Response:
        return web.Response(text="<title>Thời tiết</title><p>neutral</p>", content_type="text/html")

    async def main() -> None:
        runtime = await build_runtime(settings)
        add_configured_channels(runtime)
        app = build_app(runtime)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        other = web.Application()
        other.router.add_get("/neutral", neutral)
        other_runner = web.AppRunner(other, access_log=None)
        await other_runner.setup()
        await web.TCPSite(other_runner, "127.0.0.1", exit_port).start()
        for channel in runtime.channels:
            await channel.start()
        await runtime.start_background(outbox_poll=0.05)
        for login in ("hoa", "lan"):
            await auth.set_password(runtime.db, login, PASSWORD)
        holder["runtime"] = runtime
        ready.set()
        await stop.wait()
        for channel in runtime.channels:
            await channel.stop()
        await runner.cleanup()
        await other_runner.cleanup()
        await runtime.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(60):
        raise RuntimeError("the test server did not start")
    yield Server(f"http://127.0.0.1:{port}", exit_url, holder["runtime"], loop)
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing but CI=true requires the browser tests")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def screenshot(page: Any, name: str) -> None:
    """Artefacts for people to look at (not committed): 360 px and 1280 px wide."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 780})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    if size:
        page.set_viewport_size(size)


def console_login(context: Any, server: Server, login: str, password: str = PASSWORD) -> Any:
    page = context.new_page()
    page.goto(server.url + "/team/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.get_by_role("button", name=re.compile("Đăng nhập|Log in")).click()
    return page

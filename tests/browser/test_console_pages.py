"""Console login failure and lockout, and the statistics page's charts."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DEMO_PASSWORD, PASSWORD, Server, console_login, screenshot


def test_login_failure_then_lockout(context: Any, server: Server) -> None:
    from bot.console.auth import set_password

    server.run(set_password(server.runtime.db, "to-lock", PASSWORD))
    page = console_login(context, server, "to-lock", "wrong password 1")
    expect(page.get_by_role("alert")).to_contain_text("Sai tên đăng nhập")
    for i in range(2, 6):
        page.fill("#password", f"wrong password {i}")
        page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("Quá nhiều lần thử sai")
    screenshot(page, "console-login")
    # Even the right password is refused while locked.
    page = console_login(context, server, "to-lock", PASSWORD)
    expect(page.get_by_role("alert")).to_contain_text("Quá nhiều lần thử sai")
    assert page.url.endswith("/team/login")


def test_stats_page_renders_charts(context: Any, server: Server) -> None:
    from bot.console.auth import set_password

    server.run(
        set_password(
            server.runtime.db, "stats-viewer", DEMO_PASSWORD, check=False, coordinator=True
        )
    )
    server.run(server.runtime.engine.stats.flush())
    page = console_login(context, server, "stats-viewer", DEMO_PASSWORD)
    page.goto(server.url + "/team/stats")
    for chart in ("conversations", "intents", "handoffs"):
        expect(page.locator(f"#chart-{chart} svg")).to_be_visible()
    assert page.locator("#chart-conversations svg rect").count() == 30
    expect(page.locator("main")).to_contain_text("< 5")
    page.get_by_role("link", name=re.compile("English")).click()
    page.goto(server.url + "/team/stats")
    expect(page.locator("h1")).to_contain_text("Statistics")
    screenshot(page, "stats")

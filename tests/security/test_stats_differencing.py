"""Attack: unmask a "< 5" by subtraction — a total minus the other teams, or
the last 10 days minus the last 9 — on the console's statistics page.

The test plays it as information: two databases that differ only in a masked
cell (one request from a small commune, or three) must give the attacker the
very same pages, whatever window he asks for. Then nothing he subtracts can
tell them apart.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import add_configured_channels, build_app
from bot.console import auth
from bot.console.stats import local_today
from bot.runtime import build_runtime
from bot.store.models import DailyCount
from tests.conftest import free_port, make_settings
from tests.security.conftest import ATTACKER_IP, client_from, console_login, teams_file

PASSWORD = "coordinator pass 2026"
QUERIES = ("", "?days=7", "?days=9", "?days=10", "?days=30", "?days=90", "?days=366")


def settings_in(directory: Path) -> Any:
    directory.mkdir(parents=True, exist_ok=True)
    return make_settings(
        f"sqlite+aiosqlite:///{directory / 'h.db'}", directory, teams_file=teams_file(directory)
    )


async def pages_seen(tmp_path: Path, small: int, *, small_day: int = 3) -> dict[str, str]:
    """Every statistics page a coordinator can ask for, with ``small``
    handoff requests from the south team ``small_day`` days ago."""
    runtime = await build_runtime(settings_in(tmp_path))
    today = local_today()
    async with runtime.db.transaction() as s:
        for back in range(40):
            day = (today - timedelta(days=back)).isoformat()
            s.add(DailyCount(day=day, metric="conversations", label="web", count=6 + back % 4))
            s.add(DailyCount(day=day, metric="handoff_requested", label="north", count=2))
        day = (today - timedelta(days=small_day)).isoformat()
        s.add(DailyCount(day=day, metric="handoff_requested", label="south", count=small))
        s.add(DailyCount(day=day, metric="conversations", label="telegram", count=small))
    await auth.set_password(runtime.db, "boss", PASSWORD, coordinator=True)
    add_configured_channels(runtime)
    server = TestServer(build_app(runtime), host="127.0.0.1", port=free_port())
    await server.start_server()
    seen: dict[str, str] = {}
    try:
        base = str(server.make_url("")).rstrip("/")
        async with client_from(ATTACKER_IP) as attacker:
            assert await console_login(attacker, base, "boss", PASSWORD) == 303
            for query in QUERIES:
                async with attacker.get(base + "/team/stats" + query) as resp:
                    assert resp.status == 200
                    html = await resp.text()
                seen[query] = re.sub(r'value="[^"]+"', 'value=""', html)
    finally:
        await server.close()
        await runtime.close()
    return seen


async def test_masked_cells_cannot_be_recovered_by_subtraction(tmp_path: Path) -> None:
    one = await pages_seen(tmp_path / "one", 1)
    three = await pages_seen(tmp_path / "three", 3)
    assert "&lt; 5" in one[""], "the small count is masked on the page"
    for query in QUERIES:
        assert one[query] == three[query], f"/team/stats{query} tells 1 from 3"


async def test_any_window_length_is_not_offered(tmp_path: Path) -> None:
    """?days=10 and ?days=9 are the default window, not two windows a day apart."""
    seen = await pages_seen(tmp_path / "w", 2, small_day=9)
    assert seen["?days=9"] == seen["?days=10"] == seen[""] == seen["?days=366"]
    assert seen["?days=7"] != seen["?days=30"] != seen["?days=90"]


async def test_a_member_sees_only_her_own_team(tmp_path: Path) -> None:
    runtime: Any = await build_runtime(settings_in(tmp_path))
    today = local_today().isoformat()
    async with runtime.db.transaction() as s:
        s.add(DailyCount(day=today, metric="handoff_requested", label="north", count=20))
        s.add(DailyCount(day=today, metric="handoff_requested", label="south", count=40))
    await auth.set_password(runtime.db, "lan", PASSWORD)
    add_configured_channels(runtime)
    server = TestServer(build_app(runtime), host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        async with client_from(ATTACKER_IP) as member:
            assert await console_login(member, base, "lan", PASSWORD) == 303
            async with member.get(base + "/team/stats") as resp:
                html = await resp.text()
    finally:
        await server.close()
        await runtime.close()
    assert "south" in html and ">40<" in html
    assert "north" not in html and ">20<" not in html and ">60<" not in html

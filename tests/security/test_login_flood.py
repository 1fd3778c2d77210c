"""Attack: flood the console login from one machine to guess a password, eat
memory with argon2 hashes, and lock the member out for as long as he likes.

Defence: per-IP throttle (429 before any hashing), at most two hashes at once,
lockout per login *and* source; the member, on her own machine, still logs in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.console import auth
from tests.conftest import make_settings
from tests.security.conftest import (
    ATTACKER_IP,
    MEMBER_IP,
    app_server,  # noqa: F401  (fixture)
    client_from,
    console_login,
    teams_file,
)

PASSWORD = "lotus pond at dawn 7"


@pytest.fixture
async def runtime(sqlite_url: str, tmp_path: Path) -> Any:
    from bot.runtime import build_runtime

    settings = make_settings(sqlite_url, tmp_path, teams_file=teams_file(tmp_path))
    rt = await build_runtime(settings)
    try:
        yield rt
    finally:
        await rt.close()


async def test_login_flood_from_one_ip_does_not_lock_the_member_out(
    runtime: Any,
    app_server: TestServer,  # noqa: F811
) -> None:
    await auth.set_password(runtime.db, "hoa", PASSWORD)
    base = str(app_server.make_url("")).rstrip("/")
    async with client_from(ATTACKER_IP) as attacker:
        # 60 guesses, 20 at a time, as fast as the server answers.
        async def guess(i: int) -> int:
            return await console_login(attacker, base, "hoa", f"guess number {i:04d}")

        statuses: Counter[int] = Counter()
        for start in range(0, 60, 20):
            statuses.update(await asyncio.gather(*(guess(i) for i in range(start, start + 20))))
    # Most guesses never reach the password check: refused at once.
    assert statuses[429] >= 60 - auth.ATTEMPTS_PER_IP, statuses
    assert statuses[401] + statuses[429] == 60 and statuses[303] == 0, statuses
    assert statuses[401] <= auth.MAX_FAILURES, "the login is locked for this machine"

    # The member, on her own machine, logs in right away.
    async with client_from(MEMBER_IP) as member:
        assert await console_login(member, base, "hoa", PASSWORD) == 303
        async with member.get(base + "/team", allow_redirects=False) as home:
            assert home.status == 200


async def test_behind_the_proxy_one_guesser_does_not_lock_everybody_out(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Behind the reverse proxy every connection comes from the proxy; with
    HELPLINE_TRUSTED_PROXIES the limits follow the address the proxy saw, and
    what the attacker writes into X-Forwarded-For himself is not believed."""
    from bot.app import add_configured_channels, build_app
    from bot.runtime import build_runtime
    from tests.conftest import free_port

    settings = make_settings(
        sqlite_url, tmp_path, teams_file=teams_file(tmp_path), trusted_proxies="127.0.0.1"
    )
    rt = await build_runtime(settings)
    await auth.set_password(rt.db, "hoa", PASSWORD)
    add_configured_channels(rt)
    server = TestServer(build_app(rt), host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        async with client_from(MEMBER_IP) as proxy:  # nginx, on the same machine
            statuses: Counter[int] = Counter()
            for i in range(30):
                # He varies the header he writes; the proxy appends his real address.
                forged = {"X-Forwarded-For": f"10.9.{i}.1, 203.0.113.9"}
                statuses[await console_login(proxy, base, "hoa", f"guess {i:03d}", forged)] += 1
            assert statuses[429] >= 30 - auth.ATTEMPTS_PER_IP, statuses
            member = {"X-Forwarded-For": "198.51.100.7"}
            assert await console_login(proxy, base, "hoa", PASSWORD, member) == 303
    finally:
        await server.close()
        await rt.close()


async def test_hashes_run_two_at_a_time_at_most(runtime: Any, monkeypatch: Any) -> None:
    """The password check is the expensive part (64 MiB each): count how many
    run at once while many machines try together."""
    running = 0
    peak = 0
    real = auth.verify_password

    def counting(stored: str, password: str) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            return real(stored, password)
        finally:
            running -= 1

    monkeypatch.setattr(auth, "verify_password", counting)
    from bot.app import add_configured_channels, build_app
    from tests.conftest import free_port

    add_configured_channels(runtime)
    server = TestServer(build_app(runtime), host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        base = str(server.make_url("")).rstrip("/")
        clients = [client_from(f"127.0.1.{i}") for i in range(1, 13)]
        try:
            statuses = await asyncio.gather(
                *(
                    console_login(c, base, f"user{i}", "not the password")
                    for i, c in enumerate(clients)
                )
            )
        finally:
            for c in clients:
                await c.close()
    finally:
        await server.close()
    assert peak <= auth.MAX_HASHING, peak
    assert set(statuses) <= {401, 429} and 429 in statuses, statuses

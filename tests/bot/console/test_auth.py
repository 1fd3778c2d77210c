"""Console auth: argon2 hashing, lockout in the database, sessions, CSRF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import add_configured_channels, build_app
from bot.console import auth
from bot.console.models import ConsoleAccount, ConsoleLoginFailure, ConsoleSession
from bot.store.db import Database

PASSWORD = "correct horse battery"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()


async def test_password_is_stored_as_argon2_hash_only(db: Database) -> None:
    await auth.set_password(db, "hoa", PASSWORD)
    async with db.transaction() as s:
        account = await s.get(ConsoleAccount, "hoa")
    assert account is not None
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert (await auth.authenticate(db, "hoa", PASSWORD)).ok
    assert not (await auth.authenticate(db, "hoa", PASSWORD + "x")).ok


async def test_weak_password_and_bad_login_are_refused(db: Database) -> None:
    with pytest.raises(auth.PasswordError):
        await auth.set_password(db, "hoa", "short")
    with pytest.raises(auth.PasswordError):
        await auth.set_password(db, "bad login!", PASSWORD)


async def test_lockout_after_five_failures_even_with_the_right_password(db: Database) -> None:
    await auth.set_password(db, "hoa", PASSWORD)
    for _ in range(auth.MAX_FAILURES - 1):
        result = await auth.authenticate(db, "hoa", "wrong password")
        assert not result.ok and result.locked_until is None
    result = await auth.authenticate(db, "hoa", "wrong password")
    assert not result.ok and result.locked_until is not None
    assert not (await auth.authenticate(db, "hoa", PASSWORD)).ok, "locked"
    # Another process (another Database handle) sees the same lock.
    other = Database(db.url)
    try:
        assert not (await auth.authenticate(other, "hoa", PASSWORD)).ok
    finally:
        await other.dispose()
    # The stored row names no login in clear.
    async with db.transaction() as s:
        rows = (await s.scalars(select(ConsoleLoginFailure))).all()
        assert rows and all("hoa" not in r.login_hash for r in rows)
        # Fifteen minutes later she may try again.
        # One row for this login from this source (locked), one for the login
        # over every source (counting towards the longer global back-off).
        assert sorted(r.locked_until is not None for r in rows) == [False, True]
        for r in rows:
            if r.locked_until is not None:
                r.locked_until -= auth.LOCKOUT + timedelta(seconds=1)
            r.first_failure_at -= auth.LOCKOUT + timedelta(seconds=1)
    assert (await auth.authenticate(db, "hoa", PASSWORD)).ok


async def test_unknown_login_counts_failures_too(db: Database) -> None:
    for _ in range(auth.MAX_FAILURES):
        result = await auth.authenticate(db, "nobody", "x" * 12)
    assert result.locked_until is not None


async def test_sessions_are_stored_hashed_and_end_on_new_password(db: Database) -> None:
    await auth.set_password(db, "hoa", PASSWORD)
    token, info = await auth.create_session(db, "hoa")
    async with db.transaction() as s:
        rows = (await s.scalars(select(ConsoleSession))).all()
    assert [r.token_hash for r in rows] != [token] and len(rows) == 1
    assert (await auth.load_session(db, token)) == info
    await auth.set_password(db, "hoa", PASSWORD + "2")
    assert await auth.load_session(db, token) is None


# ---- over HTTP -------------------------------------------------------------------


@pytest.fixture
async def client(runtime: Any) -> AsyncIterator[TestClient[Any, Any]]:
    add_configured_channels(runtime)
    server = TestServer(build_app(runtime), host="127.0.0.1")
    async with TestClient(server) as c:
        yield c


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def login(c: TestClient[Any, Any], name: str, password: str) -> Any:
    page = await c.get("/team/login")
    token = _csrf(await page.text())
    return await c.post(
        "/team/login",
        data={"csrf": token, "login": name, "password": password},
        allow_redirects=False,
    )


async def test_login_sets_a_strict_httponly_session_cookie(
    client: TestClient[Any, Any], runtime: Any
) -> None:
    await auth.set_password(runtime.db, "hoa", PASSWORD)
    resp = await login(client, "hoa", PASSWORD)
    assert resp.status == 303 and resp.headers["Location"] == "/team"
    cookie = resp.cookies["hl_team"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/team"
    home = await client.get("/team")
    assert home.status == 200 and 'data-csrf="' in await home.text()


async def test_login_without_csrf_token_is_rejected(
    client: TestClient[Any, Any], runtime: Any
) -> None:
    await auth.set_password(runtime.db, "hoa", PASSWORD)
    await client.get("/team/login")
    resp = await client.post(
        "/team/login", data={"login": "hoa", "password": PASSWORD}, allow_redirects=False
    )
    assert resp.status == 403
    resp = await client.post(
        "/team/login",
        data={"csrf": "forged", "login": "hoa", "password": PASSWORD},
        allow_redirects=False,
    )
    assert resp.status == 403


async def test_every_post_needs_the_session_csrf_token(
    client: TestClient[Any, Any], runtime: Any
) -> None:
    await auth.set_password(runtime.db, "hoa", PASSWORD)
    await login(client, "hoa", PASSWORD)
    html = await (await client.get("/team")).text()
    token = re.search(r'data-csrf="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        resp = await client.post("/team/api/requests/1/take", json={}, headers=headers)
        assert resp.status == 403
    resp = await client.post(
        "/team/api/requests/1/take",
        json={},
        headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
    )
    assert resp.status == 403, "a cross-site origin is refused even with the token"
    resp = await client.post("/team/logout", data={"csrf": "forged"}, allow_redirects=False)
    assert resp.status == 403
    resp = await client.post("/team/logout", data={"csrf": token}, allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/team", allow_redirects=False)).status == 302


async def test_lockout_over_http(client: TestClient[Any, Any], runtime: Any) -> None:
    await auth.set_password(runtime.db, "hoa", PASSWORD)
    for _ in range(auth.MAX_FAILURES - 1):
        assert (await login(client, "hoa", "wrong password")).status == 401
    assert (await login(client, "hoa", "wrong password")).status == 429
    assert (await login(client, "hoa", PASSWORD)).status == 429


async def test_api_needs_a_session(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/team/api/state")).status == 401
    assert (await client.get("/team/stats", allow_redirects=False)).status == 302

"""The OA token pair against the local OAuth stand-in: refreshed on ``-216``,
once even when sends race or two processes share the database, saved sealed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.zalo.oa_api import ZaloOAClient
from bot.channels.zalo.oa_tokens import KV_NAME, ZaloOATokens, keep_fresh
from bot.crypto import KeyRing
from bot.messages import utcnow
from bot.store.db import Database
from bot.store.models import KeyValue
from tests.fakes.zalo_api import FakeZalo

SECRET = "t" * 40


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as server:
        yield server


def make_client(
    db: Database, fake: FakeZalo, access: str | None, refresh: str | None
) -> ZaloOAClient:
    tokens = ZaloOATokens(
        db,
        KeyRing(SECRET),
        app_id=fake.app_id,
        app_secret=fake.app_secret,
        oauth_base_url=fake.url,
        initial_access_token=access,
        initial_refresh_token=refresh,
    )
    return ZaloOAClient(tokens, api_base_url=fake.url)


async def stored_pair(db: Database) -> dict[str, str]:
    async with db.transaction() as s:
        row = await s.scalar(select(KeyValue).where(KeyValue.name == KV_NAME))
    assert row is not None
    return KeyRing(SECRET).open_json(row.value_enc)  # type: ignore[no-any-return]


async def test_invalid_token_refreshes_once_then_sends_and_saves_sealed(
    database_url: str, fake: FakeZalo
) -> None:
    db = Database(database_url)
    await db.upgrade()
    access, refresh = fake.issue_pair()
    client = make_client(db, fake, access, refresh)
    try:
        assert await client.send("u1", "một")
        fake.expire_access_tokens()
        assert await client.send("u1", "hai")
        assert fake.refresh_calls == 1 and fake.refresh_failures == 0
        assert [m.text for m in fake.oa_sent] == ["một", "hai"]
        assert fake.oa_sent[1].access_token != access
        async with db.transaction() as s:
            row = await s.scalar(select(KeyValue).where(KeyValue.name == KV_NAME))
        assert row is not None and fake.oa_sent[1].access_token not in row.value_enc
        pair = await stored_pair(db)
        assert pair["a"] == fake.oa_sent[1].access_token
        assert pair["r"] in fake.refresh_tokens, "the new refresh token is kept, the old is burnt"
        assert refresh in fake.burnt_refresh_tokens
        # expires_in came as the string "90000": about 25 hours from now.
        assert pair["e"] is not None
    finally:
        await client.close()
        await db.dispose()


async def test_injected_216_once_costs_one_refresh(database_url: str, fake: FakeZalo) -> None:
    db = Database(database_url)
    await db.upgrade()
    client = make_client(db, fake, *fake.issue_pair())
    try:
        fake.oa_errors.append(-216)
        assert await client.send("u1", "xin chào")
        assert fake.refresh_calls == 1 and len(fake.oa_sent) == 1 and fake.oa_calls == 2
    finally:
        await client.close()
        await db.dispose()


async def test_racing_sends_with_an_expired_token_refresh_once(
    database_url: str, fake: FakeZalo
) -> None:
    db = Database(database_url)
    await db.upgrade()
    client = make_client(db, fake, *fake.issue_pair())
    fake.refresh_delay = 0.2
    try:
        await client.send("u0", "warm up")
        fake.expire_access_tokens()
        await asyncio.gather(*(client.send(f"u{i}", f"t{i}") for i in range(5)))
        assert fake.refresh_calls == 1 and fake.refresh_failures == 0
        assert len(fake.oa_sent) == 6
    finally:
        await client.close()
        await db.dispose()


async def test_two_processes_sharing_the_database_refresh_once(
    database_url: str, fake: FakeZalo
) -> None:
    """Two clients, each with its own database pool and lock, as in two
    processes: the second finds the first one's new token after the row lock
    and does not burn the refresh token again."""
    db1, db2 = Database(database_url), Database(database_url)
    await db1.upgrade()
    access, refresh = fake.issue_pair()
    one = make_client(db1, fake, access, refresh)
    two = make_client(db2, fake, access, refresh)
    fake.refresh_delay = 0.3
    try:
        await asyncio.gather(one.send("a", "1"), two.send("b", "2"))  # both load the pair
        fake.expire_access_tokens()
        await asyncio.gather(one.send("a", "3"), two.send("b", "4"))
        assert fake.refresh_calls == 1 and fake.refresh_failures == 0
        assert sorted(m.text for m in fake.oa_sent) == ["1", "2", "3", "4"]
        assert one.tokens.refreshes + two.tokens.refreshes == 1
    finally:
        await one.close()
        await two.close()
        await db1.dispose()
        await db2.dispose()


async def test_settings_tokens_used_only_until_the_database_has_a_pair(
    database_url: str, fake: FakeZalo
) -> None:
    """After a refresh, a restart with the old (burnt) settings tokens uses the
    database's pair instead of failing."""
    db = Database(database_url)
    await db.upgrade()
    access, refresh = fake.issue_pair()
    first = make_client(db, fake, access, refresh)
    try:
        fake.expire_access_tokens()
        await first.send("u", "x")
        await first.close()
        restarted = make_client(db, fake, access, refresh)
        await restarted.send("u", "y")
        await restarted.close()
        assert fake.refresh_calls == 1 and fake.refresh_failures == 0
        assert fake.oa_sent[0].access_token == fake.oa_sent[1].access_token
    finally:
        await db.dispose()


async def test_token_about_to_expire_is_refreshed_before_sending(
    sqlite_url: str, fake: FakeZalo
) -> None:
    db = Database(sqlite_url)
    await db.upgrade()
    fake.expires_in = "600"  # ten minutes: inside the refresh margin
    client = make_client(db, fake, None, fake.issue_pair()[1])
    try:
        await client.send("u", "a")  # no access token yet: refreshed first
        await client.send("u", "b")  # expires in 10 min: refreshed again, early
        assert fake.refresh_calls == 2
        assert fake.oa_calls == 2, "no call with a missing or expiring token"
        assert fake.oa_sent[0].access_token != fake.oa_sent[1].access_token
        pair = await stored_pair(db)
        assert pair["e"] is not None
        assert pair["e"] > (utcnow() + timedelta(minutes=5)).isoformat()
    finally:
        await client.close()
        await db.dispose()


async def test_background_check_refreshes_before_expiry_without_any_send(
    sqlite_url: str, fake: FakeZalo
) -> None:
    db = Database(sqlite_url)
    await db.upgrade()
    fake.expires_in = "600"  # every pair it issues is inside the refresh margin
    client = make_client(db, fake, None, fake.issue_pair()[1])
    task = asyncio.create_task(keep_fresh(client.tokens, interval=0.05))
    try:
        for _ in range(100):
            if fake.refresh_calls >= 2:
                break
            await asyncio.sleep(0.02)
        assert fake.refresh_calls >= 2 and fake.refresh_failures == 0
        assert fake.oa_calls == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()
        await db.dispose()

"""Migrations from empty and the storage helpers, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, inspect, select

from bot.crypto import KeyRing, address_context
from bot.messages import utcnow
from bot.store.db import Database
from bot.store.models import MessageRef, User
from bot.store.users import forget, load_user, remember_message_ids, seen_before

SECRET = "s" * 40
BOT_PATH_TABLES = {"users", "message_refs", "outbox", "daily_counts", "kv"}


async def test_migration_from_empty_creates_every_table(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.upgrade()
        await db.upgrade()  # idempotent: a second start changes nothing
        async with db.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert tables >= BOT_PATH_TABLES | {"alembic_version"}
        assert await db.ping()
    finally:
        await db.dispose()


async def test_dedupe_remembers_each_platform_id_once(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    ring = KeyRing(SECRET)
    try:
        async with db.transaction() as s:
            her, _ = await load_user(s, db, ring, "telegram", "1001", utcnow())
            assert not seen_before(her, "m1")
        async with db.transaction() as s:
            her, _ = await load_user(s, db, ring, "telegram", "1001", utcnow())
            other, _ = await load_user(s, db, ring, "telegram", "1002", utcnow())
            assert seen_before(her, "m1"), "a redelivery, seen in a later transaction"
            assert not seen_before(other, "m1"), "same id, other person"
            assert not seen_before(her, None) and not seen_before(her, None), (
                "no id: nothing to dedupe"
            )
            for i in range(200):
                seen_before(her, f"x{i}")
            assert len(her.recent_refs) == 64, "only the latest ids are kept"
            assert seen_before(her, "x199") and not seen_before(her, "m1")
    finally:
        await db.dispose()


async def test_concurrent_first_contact_makes_one_row(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    ring = KeyRing(SECRET)
    try:

        async def contact() -> bool:
            async with db.transaction() as s:
                _, is_new = await load_user(s, db, ring, "telegram", "5551234567", utcnow())
                return is_new

        results = await asyncio.gather(*(contact() for _ in range(8)))
        assert results.count(True) == 1
        async with db.transaction() as s:
            assert await s.scalar(select(func.count()).select_from(User)) == 1
            user = await s.scalar(select(User))
            assert user is not None and user.key == ring.user_key("telegram", "5551234567")
            assert (
                "5551234567" not in user.address_enc
                and ring.open(user.address_enc, address_context(user.key)) == "5551234567"
            )
    finally:
        await db.dispose()


async def test_forget_removes_every_row_about_her(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    ring = KeyRing(SECRET)
    try:
        async with db.transaction() as s:
            user, _ = await load_user(s, db, ring, "web", "sid-1", utcnow())
            await remember_message_ids(s, user.key, ["5", "6"], utcnow())
            other, _ = await load_user(s, db, ring, "web", "sid-2", utcnow())
        async with db.transaction() as s:
            await forget(s, [user.key])
        async with db.transaction() as s:
            keys = set(await s.scalars(select(User.key)))
            assert keys == {other.key}
            assert await s.scalar(select(func.count()).select_from(MessageRef)) == 0
    finally:
        await db.dispose()


async def test_rotated_secret_finds_the_same_person(database_url: str) -> None:
    db = Database(database_url)
    await db.upgrade()
    try:
        async with db.transaction() as s:
            before, _ = await load_user(s, db, KeyRing(SECRET), "web", "sid", utcnow())
        rotated = KeyRing("n" * 40, [SECRET])
        async with db.transaction() as s:
            after, is_new = await load_user(s, db, rotated, "web", "sid", utcnow())
            assert not is_new and after.key == before.key
            assert not rotated.needs_reseal(after.address_enc), "address re-sealed with the new key"
    finally:
        await db.dispose()

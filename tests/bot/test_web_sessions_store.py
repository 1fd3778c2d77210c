"""Web chat sessions in the database (``bot/store/web_sessions.py``), on
SQLite and PostgreSQL: issued, found, rotated, ended, moved with a key
rotation, and never adopted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.crypto import KeyRing
from bot.keys_rotate import Rotation
from bot.messages import utcnow
from bot.store import web_sessions
from bot.store.db import Database
from bot.store.models import WebSession
from tests.conftest import SECRET

NEW_SECRET = "Zq7-Lr2Wx9PbKc4Ht6Nv8Jm3Fs5Dg1Ay0Ue-QiRoTpYwXzBnMkLjHgFd"


async def fresh_db(database_url: str) -> Database:
    db = Database(database_url)
    await db.upgrade()
    return db


async def test_sessions_are_issued_found_rotated_and_ended(database_url: str) -> None:
    db = await fresh_db(database_url)
    ring = KeyRing(SECRET)
    try:
        async with db.transaction() as s:
            issued = await web_sessions.issue(s, ring, "web", utcnow())
            made_up = await web_sessions.find(s, ring, "x" * 43, utcnow())
        assert made_up is None
        async with db.transaction() as s:
            row = await s.scalar(select(WebSession))
            assert row is not None
            assert issued.token not in row.token_hash and issued.address not in row.address_enc
            found = await web_sessions.find(s, ring, issued.token, utcnow())
        assert found is not None and found.address == issued.address
        async with db.transaction() as s:
            new = await web_sessions.rotate(s, issued.id)
        assert new and new != issued.token
        async with db.transaction() as s:
            assert await web_sessions.find(s, ring, issued.token, utcnow()) is None
            again = await web_sessions.find(s, ring, new, utcnow())
            assert again is not None and again.address == issued.address
            # Past its expiry a token opens nothing.
            later = utcnow() + web_sessions.SESSION_IDLE + timedelta(minutes=1)
            assert await web_sessions.find(s, ring, new, later) is None
            await web_sessions.end(s, new)
            assert await web_sessions.find(s, ring, new, utcnow()) is None
    finally:
        await db.dispose()


async def test_a_sealed_address_copied_into_another_row_does_not_open(
    database_url: str,
) -> None:
    db = await fresh_db(database_url)
    ring = KeyRing(SECRET)
    try:
        async with db.transaction() as s:
            hers = await web_sessions.issue(s, ring, "web", utcnow())
            his = await web_sessions.issue(s, ring, "web", utcnow())
        async with db.transaction() as s:
            sealed = await s.scalar(select(WebSession.address_enc).where(WebSession.id == hers.id))
            await s.execute(
                update(WebSession).where(WebSession.id == his.id).values(address_enc=sealed)
            )
        async with db.transaction() as s:
            try:
                found = await web_sessions.find(s, ring, his.token, utcnow())
            except Exception:
                found = None
        assert found is None or found.address != hers.address
    finally:
        await db.dispose()


async def test_key_rotation_keeps_sessions_and_moves_them_to_the_new_key(
    database_url: str,
) -> None:
    db = await fresh_db(database_url)
    old = KeyRing(SECRET)
    try:
        async with db.transaction() as s:
            issued = await web_sessions.issue(s, old, "web", utcnow())
        rotated = KeyRing(NEW_SECRET, [SECRET])
        report = await Rotation(db, rotated).run()
        assert report.done
        async with db.transaction() as s:
            row = await s.scalar(select(WebSession))
            assert row is not None
            assert row.user_key == rotated.user_key("web", issued.address)
            assert not rotated.needs_reseal(row.address_enc)
        alone = KeyRing(NEW_SECRET)  # the old secret is gone for good
        async with db.transaction() as s:
            found = await web_sessions.find(s, alone, issued.token, utcnow())
        assert found is not None and found.address == issued.address
    finally:
        await db.dispose()

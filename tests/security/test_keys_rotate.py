"""Attack: an old secret leaks (a former admin's laptop, an old backup of the
.env). After the secret is changed, whatever the old one can compute or open
must be gone: every sealed value re-sealed, every pseudonym re-keyed.

``helpline keys rotate`` does it; interrupted part-way (here: a row budget),
it continues where it stopped. Afterwards the bot runs with the new secret
alone, and the old one opens nothing in the database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from bot.crypto import DecryptionError, KeyRing
from bot.keys_rotate import PROGRESS, Rotation
from bot.outbox import Outbox, OutboxWorker
from bot.store import kv
from bot.store.db import Database
from handoff.service import HandoffService
from tests.handoff.conftest import (
    GROUP_A,
    HOA,
    Harness,
    harness,  # noqa: F401  (fixture: real service on SQLite and PostgreSQL)
)

NEW_SECRET = "Vd3kQ9pX7mL2tR8wZ4yN6bH1cF5gJ0sA-new-key"
SHE = "web-session-she-rotate-01"
SEALED_COLUMNS = (
    ("users", "address_enc"),
    ("outbox", "address_enc"),
    ("outbox", "payload_enc"),
    ("handoff_requests", "details_enc"),
    ("handoff_requests", "member_address_enc"),
    ("handoff_cards", "address_enc"),
    ("handoff_messages", "body_enc"),
)
KEY_COLUMNS = (
    ("users", "key"),
    ("outbox", "recipient"),
    ("handoff_requests", "user_key"),
    ("handoff_requests", "member_key"),
    ("handoff_consents", "user_key"),
)


def with_keyring(h: Harness, ring: KeyRing) -> None:
    """The same harness, as the bot would run after a restart with ``ring``."""
    h.keyring = ring
    h.outbox = Outbox(ring)
    h.service = HandoffService(h.service.config, h.db, ring, h.outbox, None, clock=h.clock)
    h.worker = OutboxWorker(
        h.db,
        h.outbox,
        {"telegram": h.telegram, "web": h.web},
        on_undeliverable=h.service.on_undeliverable,
    )


async def values(db: Database, table: str, column: str) -> list[Any]:
    async with db.transaction() as s:
        rows = await s.execute(text(f"SELECT {column} FROM {table}"))
        return [r[0] for r in rows if r[0] is not None]


async def test_rotation_leaves_nothing_the_old_secret_can_open_or_compute(
    harness: Harness,  # noqa: F811
) -> None:
    h = harness
    old = h.keyring
    # A real chat: she asks, Hoa takes it, they write to each other; one
    # message is still waiting in the outbox.
    await h.start(SHE)
    await h.drain()
    card = h.card(GROUP_A)
    await h.press_take(GROUP_A, HOA, h.request_id(card), card.ids[0])
    await h.drain()
    await h.user_says(SHE, "chị ơi em sợ lắm")
    await h.member(HOA, "Chị đây, em an toàn không?")
    async with h.db.transaction() as s:
        await kv.put(s, h.db, "zopt:" + old.user_key("web", SHE)[:56], old.seal("{}"), h.clock())
    before = {c: await values(h.db, *c) for c in SEALED_COLUMNS}
    assert all(before[c] for c in SEALED_COLUMNS), {c: len(v) for c, v in before.items()}

    # The operator sets the new secret, keeps the old one for reading, rotates
    # — and the run is cut short after a few rows.
    rotated = KeyRing(NEW_SECRET, [old_secret(old)])
    first = await Rotation(h.db, rotated, batch=2, max_rows=3).run()
    assert not first.done
    async with h.db.transaction() as s:
        assert await kv.get(s, PROGRESS) is not None, "progress is kept for the next run"
    second = await Rotation(h.db, rotated, batch=2).run()
    assert second.done and second.unreadable == 0 and second.collisions == 0, second
    async with h.db.transaction() as s:
        assert await kv.get(s, PROGRESS) is None

    # The old secret alone opens nothing and computes no stored pseudonym.
    for column in SEALED_COLUMNS:
        for sealed in await values(h.db, *column):
            assert not rotated.needs_reseal(sealed), column
            # Sealed under the new key: the old secret does not even know its id.
            try:
                old.open(sealed)
                raise AssertionError(f"{column} still opens with the old secret")
            except DecryptionError:
                pass
    old_keys = {old.user_key("web", SHE), old.user_key("telegram", HOA)}
    for column in KEY_COLUMNS:
        assert not old_keys & set(await values(h.db, *column)), column
    names = await values(h.db, "kv", "name")
    assert "zopt:" + KeyRing(NEW_SECRET).user_key("web", SHE)[:56] in names

    # The bot, restarted with the new secret only, carries on the same chat.
    with_keyring(h, KeyRing(NEW_SECRET))
    await h.drain()
    await h.user_says(SHE, "em vẫn ở đây")
    await h.drain()
    assert any("em vẫn ở đây" in t for t in h.telegram.texts_to(HOA))
    async with h.db.transaction() as s:
        from bot.store.models import User

        keys = list(await s.scalars(select(User.key)))
    assert keys == [KeyRing(NEW_SECRET).user_key("web", SHE)]


def old_secret(ring: KeyRing) -> str:
    from tests.conftest import SECRET

    assert KeyRing(SECRET).key_id == ring.key_id
    return SECRET

"""Attacks by someone who can write to the database (a stolen backup put
back, a rogue admin) or who relies on ids coming back:

- copy a sealed address from one person's row into another's, so that what
  the bot sends to her goes to him;
- wait for an erased handoff request's id to be given to the next woman, so
  that an old ``ho:<id>`` reference or reply mapping points at her.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bot.crypto import DecryptionError, address_context
from bot.messages import Outgoing, utcnow
from bot.store import users as user_store
from bot.store.models import OutboxItem, User
from handoff.models import HandoffRequest
from tests.handoff.conftest import (
    Harness,
    harness,  # noqa: F401  (fixture: real service, outbox and worker, SQLite and PostgreSQL)
)

HER, HIM = "web-session-her-0001", "web-session-him-0002"


async def test_an_address_moved_to_another_row_does_not_open(
    harness: Harness,  # noqa: F811
) -> None:
    h = harness
    async with h.db.transaction() as s:
        her, _ = await user_store.load_user(s, h.db, h.keyring, "web", HER, utcnow())
        him, _ = await user_store.load_user(s, h.db, h.keyring, "web", HIM, utcnow())
        her_key, his_key, his_sealed = her.key, him.key, him.address_enc
    # The attacker copies his sealed address into her row.
    async with h.db.transaction() as s:
        await s.execute(update(User).where(User.key == her_key).values(address_enc=his_sealed))
    async with h.db.transaction() as s:
        row = await s.get(User, her_key)
        assert row is not None
        try:
            h.keyring.open(row.address_enc, address_context(row.key))
            raise AssertionError("the moved address opened in her row")
        except DecryptionError:
            pass
        # A message for her is queued; it must not reach him.
        h.outbox.to_user(s, row, Outgoing("for her eyes only"))
    await h.drain()
    assert h.web.texts_to(HIM) == [], "her message went to the address copied into her row"
    async with h.db.transaction() as s:
        item = (await s.scalars(select(OutboxItem))).one()
    assert item.status == "failed", "given up at once, not retried ahead of her next messages"
    assert his_key != her_key


async def test_an_erased_request_id_is_never_given_again(
    harness: Harness,  # noqa: F811
) -> None:
    h = harness
    await h.start(HER)
    async with h.db.transaction() as s:
        first = (await s.scalars(select(HandoffRequest.id))).one()
        first_outbox = max(await s.scalars(select(OutboxItem.id)))
    # She erases everything (as the engine's erase does).
    async with h.db.transaction() as s:
        key = h.keyring.user_key("web", HER)
        await h.service.forget(s, key)
        await user_store.forget(s, [key])
        await s.execute(OutboxItem.__table__.delete())
    async with h.db.transaction() as s:
        assert (await s.scalars(select(HandoffRequest.id))).all() == []
    # Another woman asks for help.
    await h.start("web-session-another-0003")
    async with h.db.transaction() as s:
        second = (await s.scalars(select(HandoffRequest.id))).one()
        second_outbox = min(await s.scalars(select(OutboxItem.id)))
    assert second > first, f"request id {first} was given again"
    assert second_outbox > first_outbox, "an outbox id was given again"

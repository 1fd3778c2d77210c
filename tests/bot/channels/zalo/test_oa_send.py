"""Sending on the OA through the local stand-in: buttons as Zalo templates or
numbered options, long texts split, and Zalo's errors as the outbox sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.zalo.oa import ZaloOASender
from bot.channels.zalo.oa_api import ZaloOAClient
from bot.channels.zalo.oa_tokens import ZaloOATokens
from bot.channels.zalo.options import OptionsStore
from bot.crypto import KeyRing
from bot.interfaces import Failure
from bot.messages import Button, Outgoing, utcnow
from bot.outbox import Outbox, OutboxWorker
from bot.store.db import Database
from bot.store.models import OutboxItem
from tests.fakes.zalo_api import FakeZalo

SECRET = "s" * 40
USER = "2468013579246801357"


@dataclass
class Rig:
    fake: FakeZalo
    db: Database
    outbox: Outbox
    sender: ZaloOASender
    worker: OutboxWorker
    undeliverable: list[tuple[int, Failure]]


@pytest.fixture
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """SQLite; tests where the database matters run on PostgreSQL too."""
    if getattr(request, "param", "sqlite") == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return sqlite_url


@pytest.fixture
async def rig(db_url: str) -> AsyncIterator[Rig]:
    url = db_url
    keyring = KeyRing(SECRET)
    db = Database(url)
    await db.upgrade()
    async with FakeZalo() as fake:
        access, refresh = fake.issue_pair()
        tokens = ZaloOATokens(
            db,
            keyring,
            app_id=fake.app_id,
            app_secret=fake.app_secret,
            oauth_base_url=fake.url,
            initial_access_token=access,
            initial_refresh_token=refresh,
        )
        client = ZaloOAClient(tokens, api_base_url=fake.url)
        outbox = Outbox(keyring)
        sender = ZaloOASender(client, db, outbox, OptionsStore(db, keyring, "zalo_oa"))
        seen: list[tuple[int, Failure]] = []

        async def on_undeliverable(
            session: AsyncSession, item: OutboxItem, failure: Failure
        ) -> None:
            seen.append((item.id, failure))

        worker = OutboxWorker(db, outbox, {"zalo_oa": sender}, on_undeliverable=on_undeliverable)
        try:
            yield Rig(fake, db, outbox, sender, worker, seen)
        finally:
            await client.close()
            await db.dispose()


async def queue(rig: Rig, *messages: Outgoing) -> None:
    async with rig.db.transaction() as s:
        for message in messages:
            rig.outbox.to_address(s, "zalo_oa", USER, message)


async def rows(rig: Rig) -> list[OutboxItem]:
    async with rig.db.transaction() as s:
        return list((await s.scalars(select(OutboxItem).order_by(OutboxItem.id))).all())


async def test_up_to_five_buttons_are_zalo_template_buttons(rig: Rig) -> None:
    buttons = [Button(f"Lựa chọn {i}", f"n:node_{i}") for i in range(1, 6)]
    await rig.sender.reply(USER, [Outgoing("Bạn muốn biết gì?", buttons)])
    [sent] = rig.fake.oa_sent
    assert sent.user_id == USER and sent.text == "Bạn muốn biết gì?"
    assert sent.body["message"]["attachment"]["type"] == "template"
    assert sent.buttons == [
        {"title": f"Lựa chọn {i}", "type": "oa.query.hide", "payload": f"n:node_{i}"}
        for i in range(1, 6)
    ]
    # Typing a label works too; a bare number does not (no numbers were shown).
    assert await rig.sender.options.resolve(USER, "lua chon 2") == "n:node_2"
    assert await rig.sender.options.resolve(USER, "2") is None


async def test_more_than_five_buttons_become_numbered_options(rig: Rig) -> None:
    buttons = [Button(f"Mục {i}", f"n:item_{i}") for i in range(1, 8)]
    await rig.sender.reply(USER, [Outgoing("Chọn một mục:", buttons)])
    [sent] = rig.fake.oa_sent
    assert "attachment" not in sent.body["message"]
    lines = sent.text.splitlines()
    assert lines[0] == "Chọn một mục:"
    assert lines[-7:] == [f"{i}. Mục {i}" for i in range(1, 8)]
    assert await rig.sender.options.resolve(USER, "6") == "n:item_6"
    assert await rig.sender.options.resolve(USER, "Mục 7") == "n:item_7"


async def test_long_text_is_split_and_buttons_ride_on_the_last_piece(rig: Rig) -> None:
    text = "Đây là một câu thông tin về quyền của bạn. " * 110  # ~4,700 characters
    await rig.sender.reply(USER, [Outgoing(text, [Button("Menu", "cmd:menu")])])
    sent = rig.fake.oa_sent
    assert len(sent) == 3 and all(len(m.text) <= 2000 for m in sent)
    assert [bool(m.buttons) for m in sent] == [False, False, True]
    assert " ".join(m.text for m in sent) == text.strip()


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
async def test_outside_reply_window_fails_the_row_as_window_closed(rig: Rig) -> None:
    await queue(rig, Outgoing("Người tư vấn: chị còn đó không?"), Outgoing("lần hai"))
    rig.fake.oa_errors += [-305, -230]
    await rig.worker.drain()
    items = await rows(rig)
    assert [i.status for i in items] == ["failed", "failed"]
    assert all(i.last_error and i.last_error.startswith("window_closed:") for i in items)
    assert [f for _, f in rig.undeliverable] == [Failure.WINDOW_CLOSED, Failure.WINDOW_CLOSED]
    assert rig.fake.oa_sent == [] and rig.fake.refresh_calls == 0


async def test_rate_limit_and_server_errors_are_retried_later(rig: Rig) -> None:
    await queue(rig, Outgoing("một"), Outgoing("hai"))
    rig.fake.oa_errors += [-32]
    await rig.worker.drain()
    first, second = await rows(rig)
    assert first.status == "pending" and "rate limited" in (first.last_error or "")
    assert first.next_attempt_at > utcnow() + timedelta(seconds=20), "backs off ~30 s"
    assert second.status == "pending", "order kept: the second waits for the first"
    rig.fake.oa_errors += ["http500"]
    await make_due(rig)
    await rig.worker.drain()
    first, _ = await rows(rig)
    assert first.status == "pending" and "500" in (first.last_error or "")
    await make_due(rig)
    await rig.worker.drain()
    assert [i.status for i in await rows(rig)] == ["sent", "sent"]
    assert [m.text for m in rig.fake.oa_sent] == ["một", "hai"]
    assert rig.undeliverable == []


async def test_a_direct_reply_that_fails_goes_to_the_outbox_in_order(rig: Rig) -> None:
    rig.fake.oa_errors += ["http500"]
    await rig.sender.reply(USER, [Outgoing("đầu"), Outgoing("sau", [Button("Menu", "cmd:menu")])])
    assert rig.fake.oa_sent == []
    await rig.worker.drain()
    assert [m.text for m in rig.fake.oa_sent] == ["đầu", "sau"]
    assert rig.fake.oa_sent[1].buttons[0]["payload"] == "cmd:menu"


async def make_due(rig: Rig) -> None:
    async with rig.db.transaction() as s:
        await s.execute(update(OutboxItem).values(next_attempt_at=utcnow()))

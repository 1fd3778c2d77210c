"""Each part of ``handoff/`` built alone from a :class:`HandoffContext`, with no
service around it: the relay carries and reports, the request lifecycle
decides, the timers fire (real database, real outbox rows)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.crypto import KeyRing
from bot.messages import utcnow
from bot.outbox import Outbox
from bot.store import users as user_store
from bot.store.db import Database
from bot.store.models import OutboxItem
from handoff.context import HandoffContext
from handoff.models import CLOSED, QUEUED, HandoffCard, HandoffMessage, HandoffRequest
from handoff.relay import RECIPIENT_GONE, Relay
from handoff.requests import Requests
from handoff.routing import route
from handoff.teams import parse_teams
from handoff.timers import Timers
from tests.conftest import SECRET
from tests.handoff.conftest import TEAMS, Clock


@dataclass
class Parts:
    ctx: HandoffContext
    clock: Clock
    relay: Relay
    requests: Requests


@pytest.fixture
async def parts(database_url: str) -> AsyncIterator[Parts]:
    db = Database(database_url)
    await db.upgrade()
    keyring = KeyRing(SECRET)
    clock = Clock()
    ctx = HandoffContext(
        config=parse_teams(TEAMS), db=db, keyring=keyring, outbox=Outbox(keyring), clock=clock
    )
    relay = Relay(ctx)
    try:
        yield Parts(ctx, clock, relay, Requests(ctx, relay))
    finally:
        await db.dispose()


async def _outbox_rows(ctx: HandoffContext) -> int:
    async with ctx.db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxItem)) or 0)


async def _new_request(parts: Parts, user_key: str) -> HandoffRequest:
    async with parts.ctx.db.transaction() as s:
        return await parts.requests.create(
            s, user_key, "vi", route("Phú Hưng", parts.ctx.config), "violence"
        )


async def test_relay_reports_a_recipient_gone_and_leaves_the_request_alone(parts: Parts) -> None:
    request = await _new_request(parts, "no-such-user")
    cards = await _outbox_rows(parts.ctx)
    async with parts.ctx.db.transaction() as s:
        held = await s.get(HandoffRequest, request.id)
        assert held is not None
        answer = await parts.relay.from_member(s, held, "Chị có an toàn không?", None)
    assert answer is RECIPIENT_GONE
    assert await _outbox_rows(parts.ctx) == cards  # nothing queued for anyone
    async with parts.ctx.db.transaction() as s:
        after = await s.get(HandoffRequest, request.id)
        kept = await s.scalar(select(func.count()).select_from(HandoffMessage))
    assert after is not None and after.status == QUEUED and after.from_member_count == 0
    assert kept == 0


async def test_relay_delivers_to_her_when_she_exists(parts: Parts) -> None:
    async with parts.ctx.db.transaction() as s:
        user, _ = await user_store.load_user(
            s, parts.ctx.db, parts.ctx.keyring, "web", "sid-parts", utcnow()
        )
        key = user.key
    request = await _new_request(parts, key)
    async with parts.ctx.db.transaction() as s:
        held = await s.get(HandoffRequest, request.id)
        assert held is not None
        answer = await parts.relay.from_member(s, held, "Chị có an toàn không?", None)
    assert answer == []
    async with parts.ctx.db.transaction() as s:
        to_her = await s.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.recipient == key)
        )
    assert to_her == 1


async def test_requests_close_once_and_finish_every_card(parts: Parts) -> None:
    request = await _new_request(parts, "someone")
    async with parts.ctx.db.transaction() as s:
        held = await s.get(HandoffRequest, request.id)
        assert held is not None
        assert await parts.requests.close(s, held, "user", by_member=None)
        assert not await parts.requests.close(s, held, "user", by_member=None)
    async with parts.ctx.db.transaction() as s:
        states = set((await s.scalars(select(HandoffCard.state))).all())
        closed = await s.get(HandoffRequest, request.id)
    assert states == {"done"}
    assert closed is not None and closed.status == CLOSED


async def test_timers_alone_escalate_an_unclaimed_request(parts: Parts) -> None:
    timers = Timers(parts.ctx, parts.relay, parts.requests)
    request = await _new_request(parts, "waiting")
    assert (await timers.tick())["escalated"] == 0
    parts.clock.advance(parts.ctx.config.claim_timeout_minutes + 1)
    assert (await timers.tick())["escalated"] == 1
    async with parts.ctx.db.transaction() as s:
        after = await s.get(HandoffRequest, request.id)
        cards = set((await s.scalars(select(HandoffCard.team_id))).all())
    assert after is not None and after.status == QUEUED and after.escalated_at is not None
    assert after.team_id == parts.ctx.config.fallback.id
    assert cards == {"phu-hung", parts.ctx.config.fallback.id}

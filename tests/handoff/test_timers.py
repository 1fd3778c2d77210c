"""Timeouts with a clock moved by hand: escalation, out-of-hours, idle reminders,
each firing once even when two "processes" tick at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from handoff.models import HandoffAudit, HandoffMessage, HandoffRequest
from handoff.service import HandoffService
from tests.handoff.conftest import GROUP_A, GROUP_B, HOA, MAI, Harness

SHE = "web-timer-she"


async def test_unclaimed_request_escalates_once_to_the_fallback_team(harness: Harness) -> None:
    await harness.start(SHE)
    await harness.drain()
    rid = harness.request_id(harness.card(GROUP_A))
    harness.clock.advance(9)
    assert (await harness.service.timers.tick())["escalated"] == 0
    harness.clock.advance(2)
    # A second service on the same database stands for a second process.
    other = HandoffService(
        harness.service.config,
        harness.db,
        harness.keyring,
        harness.outbox,
        None,
        clock=harness.clock,
    )
    results = await asyncio.gather(harness.service.timers.tick(), other.timers.tick())
    assert sum(r["escalated"] for r in results) == 1
    await harness.drain()
    escalated = harness.card(GROUP_B)
    assert "Unclaimed after 10 min" in escalated.message.text
    to_her = harness.web.texts_to(SHE)
    assert sum("113" in t for t in to_her) == 1 and "Công an xã" in to_her[-1]
    # The fallback team's member may take it now; so may the original team.
    answer = await harness.press_take(GROUP_B, MAI, rid, escalated.ids[0])
    assert answer and "You took it" in answer[0].text
    await harness.drain()
    # Both cards (original group and fallback group) lose their button.
    assert any(
        s.message.edit_of and "taken by Mai" in s.message.text for s in harness.telegram.to(GROUP_A)
    )
    assert any(
        s.message.edit_of and "taken by Mai" in s.message.text for s in harness.telegram.to(GROUP_B)
    )
    harness.clock.advance(60)
    assert (await harness.service.timers.tick())["escalated"] == 0
    async with harness.db.transaction() as s:
        events = list((await s.scalars(select(HandoffAudit.event))).all())
    assert events.count("escalate") == 1


async def test_out_of_hours_she_is_told_at_once_and_the_request_stays(harness: Harness) -> None:
    # 23:30 in Viet Nam: the fallback team (07:00-21:00) is closed.
    harness.clock.now = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
    out = await harness.start(SHE, area="Bến Tre")
    assert (
        out and "ngoài giờ" in out[0].text and "07:00–21:00" in out[0].text and "113" in out[0].text
    )
    await harness.drain()
    assert harness.card(GROUP_B)
    async with harness.db.transaction() as s:
        req = (await s.scalars(select(HandoffRequest))).one()
    assert req.status == "queued"


async def test_idle_chat_reminds_the_member_once_per_quiet_spell(harness: Harness) -> None:
    await harness.start(SHE)
    await harness.drain()
    card = harness.card(GROUP_A)
    await harness.press_take(GROUP_A, HOA, harness.request_id(card), card.ids[0])
    harness.clock.advance(31)
    assert (await harness.service.timers.tick())["reminded"] == 1
    harness.clock.advance(31)
    assert (await harness.service.timers.tick())["reminded"] == 0
    await harness.user_says(SHE, "tôi vẫn ở đây")
    harness.clock.advance(31)
    assert (await harness.service.timers.tick())["reminded"] == 1
    await harness.drain()
    assert sum("No message for 30 min" in t for t in harness.telegram.texts_to(HOA)) == 2


async def test_purge_removes_transcripts_after_retention(harness: Harness) -> None:
    await harness.start(SHE)
    await harness.drain()
    card = harness.card(GROUP_A)
    await harness.press_take(GROUP_A, HOA, harness.request_id(card), card.ids[0])
    await harness.user_says(SHE, "lời kể")
    async with harness.db.transaction() as s:
        keep = await harness.service.keep_hook(s)
        assert keep == {harness.keyring.user_key("web", SHE)}
        assert await harness.service.purge_hook(s, timedelta(days=30)) == 0
    await harness.member(HOA, "/end")
    harness.clock.advance(60 * 24 * 29)
    async with harness.db.transaction() as s:
        assert await harness.service.purge_hook(s, timedelta(days=30)) == 0
        assert await harness.service.keep_hook(s) == set()
    harness.clock.advance(60 * 24 * 2)
    async with harness.db.transaction() as s:
        assert await harness.service.purge_hook(s, timedelta(days=30)) >= 2
        assert (await s.scalars(select(HandoffMessage))).all() == []
        assert (await s.scalars(select(HandoffRequest))).all() == []
        # The audit log (aliases and counts only) stays.
        assert (await s.scalars(select(HandoffAudit))).all()

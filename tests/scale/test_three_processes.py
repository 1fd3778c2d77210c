"""Scale-out (docs/design.md, Scale; docs/deployment.md): three ``helpline run``
processes on one PostgreSQL database, Telegram updates spread across them as a
load balancer would. What a person or a team member would notice must not
change: each message answered once and in order, one winner per Take, every
relayed message delivered once and in order, each timer fired once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scale.cluster import GROUP_A, GROUP_B, HOA, LAN, Cluster, alias_of, sql

#: A short conversation; the answers differ from one step to the next, so a
#: reordering or a lost or doubled turn shows.
SCRIPT = [
    "xin chào",
    "tôi muốn biết quyền của mình",
    "so dien thoai ho tro la gi",
    "toi bi ck danh moi khi say ruou",
    "cảm ơn bạn",
]
#: Timers tick every 15 s in each process (HandoffService(tick_seconds=15)).
TICK = 15.0


@pytest.fixture
async def cluster(postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with FakeTelegramAPI() as api:
        c = Cluster(api, postgres_url, tmp_path, n=3)
        try:
            await c.start()
            yield c
        finally:
            await c.stop()


async def _converse(c: Cluster, chat: int, *, twice_at: int | None) -> None:
    """Her script, one message after the other (she waits for each answer), each
    through the next process; message ``twice_at`` reaches two processes at once."""
    for i, text in enumerate(SCRIPT):
        update = c.api.user_message(chat, text)
        if i == twice_at:
            statuses = await asyncio.gather(c.deliver(update, 1), c.deliver(update, 2))
            assert statuses == [200, 200], statuses
        else:
            await c.deliver_ok(update)


async def _race_take(c: Cluster, card_index: int) -> tuple[int, int, str]:
    """Hoa (via process 1) and Lan (via process 2) press Take on the same card at
    the same moment. Returns (winner, loser, alias)."""
    card = (await c.wait_cards(GROUP_A, card_index + 1))[card_index]
    payload = card.payloads[0]
    hoa = c.api.press(GROUP_A, card.message_id, payload, user_id=HOA)
    lan = c.api.press(GROUP_A, card.message_id, payload, user_id=LAN)
    statuses = await asyncio.gather(c.deliver(hoa, 1), c.deliver(lan, 2))
    assert statuses == [200, 200]
    answers = {
        a["callback_query_id"]: str(a.get("text", ""))
        for a in c.api.callback_answers
        if a["callback_query_id"] in {hoa["callback_query"]["id"], lan["callback_query"]["id"]}
    }
    got = sorted(answers.values())
    assert len(got) == 2 and sum("You took it" in a for a in got) == 1, got
    assert sum("already took" in a for a in got) == 1, got
    winner = HOA if "You took it" in answers[hoa["callback_query"]["id"]] else LAN
    return winner, (LAN if winner == HOA else HOA), alias_of(card)


async def test_three_processes_behave_as_one(cluster: Cluster) -> None:
    c, api = cluster, cluster.api
    started = time.monotonic()

    # (d, set-up) Two requests left unclaimed: their clock is moved back past
    # claim_timeout_minutes in the database, as if 11 minutes had passed. Every
    # process's timer sees them due on its next tick.
    waiting = [710_001, 710_002]
    for chat in waiting:
        await c.ask_for_team(chat)
    waiting_aliases = {alias_of(card) for card in await c.wait_cards(GROUP_A, 2)}
    await sql(
        c.database_url,
        "UPDATE handoff_requests SET queued_at = queued_at - interval '11 minutes' "
        "WHERE status = 'queued'",
    )
    moved_back = time.monotonic()

    # (a) A reference person talks to one process; four others say the same,
    # each message through the next process, all four at once; one message of
    # each reaches two processes at the same moment (the first one for two of
    # them: her row does not exist yet).
    reference = 700_000
    for text in SCRIPT:
        await c.deliver_ok(api.user_message(reference, text), to=0)
    expected = c.texts(reference)
    assert len(set(expected)) >= len(SCRIPT) - 1, "the script should get varied answers"
    people = [700_001, 700_002, 700_003, 700_004]
    await asyncio.gather(*(_converse(c, chat, twice_at=i % 3) for i, chat in enumerate(people)))
    for chat in people:
        assert c.texts(chat) == expected, f"chat {chat}: answers lost, doubled or out of order"

    # (b) Two members press Take on the same card through two processes.
    first, second = 720_001, 720_002
    await c.ask_for_team(first)
    winner1, _loser1, alias1 = await _race_take(c, 2)
    await c.ask_for_team(second)
    winner2, _loser2, alias2 = await _race_take(c, 3)
    for member, alias in ((winner1, alias1), (winner2, alias2)):
        await c.wait_texts(
            member, lambda t, a=alias: any(f"#{a}" in x and "Connected" in x for x in t)
        )
    for member in (HOA, LAN):
        connected = [t for t in c.texts(member) if "Connected" in t]
        assert len(connected) == [winner1, winner2].count(member), connected
    await api.wait_until(
        lambda: len([e for e in api.edits if "taken by" in str(e.get("text"))]) >= 2, 30
    )
    edits = [e for e in api.edits if "taken by" in str(e.get("text"))]
    assert len(edits) == 2, edits

    # (c) Both chats, both ways, all at once, every message through the next
    # process while all three run outbox workers.
    n = 8
    to_her = {
        a: [f"Tổ gửi chị lời nhắn số {i} về chuyện #{a}" for i in range(n)]
        for a in (alias1, alias2)
    }
    to_team = {
        a: [f"Em vẫn ổn, đây là tin nhắn số {i} em gửi cho tổ" for i in range(n)]
        for a in (alias1, alias2)
    }

    async def member_writes(member: int, alias: str) -> None:
        for text in to_her[alias]:
            await c.deliver_ok(api.user_message(member, f"/to {alias} {text}"))

    async def she_writes(chat: int, alias: str) -> None:
        for text in to_team[alias]:
            await c.deliver_ok(api.user_message(chat, text))

    await asyncio.gather(
        member_writes(winner1, alias1),
        member_writes(winner2, alias2),
        she_writes(first, alias1),
        she_writes(second, alias2),
    )
    for chat, alias in ((first, alias1), (second, alias2)):
        wanted = [f"Tổ hỗ trợ: {t}" for t in to_her[alias]]
        await c.wait_texts(chat, lambda t, w=wanted: all(x in t for x in w))
    for member, alias in ((winner1, alias1), (winner2, alias2)):
        wanted = [f"#{alias}: {t}" for t in to_team[alias]]
        await c.wait_texts(member, lambda t, w=wanted: all(x in t for x in w))

    # (d) Wait until every process has had a full tick since the clock moved,
    # and the outbox is empty: then count.
    await asyncio.sleep(max(0.0, moved_back + TICK + 3 - time.monotonic()))
    await c.outbox_settled()
    for chat, alias in ((first, alias1), (second, alias2)):
        got = [t for t in c.texts(chat) if t.startswith("Tổ hỗ trợ: ")]
        assert got == [f"Tổ hỗ trợ: {t}" for t in to_her[alias]], (
            "team→her: lost, doubled or reordered"
        )
    for member, alias in ((winner1, alias1), (winner2, alias2)):
        got = [t for t in c.texts(member) if t.startswith(f"#{alias}: ")]
        assert got == [f"#{alias}: {t}" for t in to_team[alias]], (
            "her→team: lost, doubled or reordered"
        )

    for chat in waiting:
        still = [t for t in c.texts(chat) if "vẫn đang chờ" in t]
        assert len(still) == 1, f"she should hear 'still waiting' once, got {len(still)}"
    escalations = c.cards(GROUP_B)
    assert sorted(alias_of(card) for card in escalations) == sorted(waiting_aliases), [
        m.params.get("text") for m in escalations
    ]
    assert all("Unclaimed after 10 min" in str(m.params.get("text")) for m in escalations)
    assert time.monotonic() - started < 90

    # Operators restart workers one by one: SIGTERM must not hang (the runtime
    # gives background loops 10 s before cancelling them).
    stopping = time.monotonic()
    await c.stop()
    assert time.monotonic() - stopping < 8, "a graceful stop should not wait out the grace period"

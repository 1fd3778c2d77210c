"""Attack: bury the team's queue. He scripts many fake people asking for the
team, one person asking again and again, one socket sending as fast as it
can, and a waiting request stuffed with messages, so that a real request is
lost in the noise or never seen.

Defence: limits per session, per IP and per person, each answered calmly with
113 named and nothing already sent lost; a flood is counted, shown as a
console banner and told to the team groups; the console shows the whole
queue, longest waiting first, with its count. Scripted against the app over
real HTTP (web chat and console), each browser from its own address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.console import auth
from tests.conftest import make_settings
from tests.security.conftest import (
    ATTACKER_IP,
    MEMBER_IP,
    app_server,  # noqa: F401  (fixture)
    client_from,
    console_login,
    teams_file,
)
from tests.security.webchat import Chat

PASSWORD = "lotus pond at dawn 7"
FLOOD = 5
PER_MINUTE = 30
HELD = 5
REQUESTS_PER_HOUR = 3


@pytest.fixture
async def runtime(sqlite_url: str, tmp_path: Path) -> Any:
    from bot.runtime import build_runtime

    settings = make_settings(
        sqlite_url,
        tmp_path,
        teams_file=teams_file(tmp_path),
        handoff_flood_per_hour=FLOOD,
        web_messages_per_minute=PER_MINUTE,
        handoff_held_messages=HELD,
        handoff_requests_per_hour=REQUESTS_PER_HOUR,
    )
    rt = await build_runtime(settings)
    await rt.start_background(outbox_poll=0.05)
    try:
        yield rt
    finally:
        await rt.close()


def url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def console_state(base: str, page: int = 0) -> dict[str, Any]:
    async with client_from(MEMBER_IP) as hoa:
        assert await console_login(hoa, base, "hoa", PASSWORD) == 303
        async with hoa.get(f"{base}/team/api/state?page={page}") as resp:
            assert resp.status == 200
            state: dict[str, Any] = await resp.json()
            return state


async def test_many_fake_people_cannot_hide_a_real_request(
    runtime: Any,
    app_server: TestServer,  # noqa: F811
) -> None:
    await auth.set_password(runtime.db, "hoa", PASSWORD)
    base = url(app_server)
    fakes = 2 * FLOOD
    for i in range(fakes):  # each "person" from its own address, as a botnet would
        async with Chat(base, f"127.0.1.{i + 1}") as fake:
            await fake.open_page()
            await fake.connect()
            await fake.send({"type": "start"})
            await fake.ask_for_team()
    async with Chat(base, MEMBER_IP) as her:
        await her.open_page()
        await her.connect()
        await her.send({"type": "start"})
        queued = await her.ask_for_team()
        assert any("113" in f.get("text", "") for f in queued), "her request is made"
    state = await console_state(base)
    assert state["queue_total"] == fakes + 1, "every waiting request is counted"
    assert state["flood"] and state["flood"] > FLOOD, "the team sees a flood banner"
    # Oldest waiting first: hers, the newest, is on the last page, and reachable.
    last = await console_state(base, state["pages"] - 1)
    ids = [
        r["id"]
        for page in range(state["pages"])
        for r in (await console_state(base, page))["queue"]
    ]
    assert len(ids) == fakes + 1 and ids == sorted(ids)
    assert last["queue"][-1]["id"] == max(ids)
    # The team groups were told once, and the metric shows the rate.
    from bot.store.models import OutboxItem

    async with runtime.db.transaction() as s:
        notices = await s.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.ref == "ho:flood")
        )
        counts = await runtime.engine.handoff.counts_by_state(s)
    assert notices == 2, "one notice in each team's group"
    assert counts["requested_last_hour"] == fakes + 1


async def test_one_person_asking_again_and_again_is_answered_calmly(
    runtime: Any,
    app_server: TestServer,  # noqa: F811
) -> None:
    from handoff.models import HandoffRequest

    async with Chat(url(app_server), ATTACKER_IP) as him:
        await him.open_page()
        await him.connect()
        await him.send({"type": "start"})
        for _ in range(REQUESTS_PER_HOUR):
            await him.ask_for_team()
            await him.say("/stop")
        answer = await him.ask_for_team()
    text = " ".join(f.get("text", "") for f in answer)
    assert "113" in text and "thử lại" in text, text
    async with runtime.db.transaction() as s:
        made = await s.scalar(select(func.count()).select_from(HandoffRequest))
    assert made == REQUESTS_PER_HOUR


async def test_a_waiting_request_cannot_be_stuffed_but_keeps_what_she_sent(
    runtime: Any,
    app_server: TestServer,  # noqa: F811
) -> None:
    from handoff.models import HandoffMessage

    held = HELD
    async with Chat(url(app_server), ATTACKER_IP) as him:
        await him.open_page()
        await him.connect()
        await him.send({"type": "start"})
        await him.ask_for_team()
        answers = [
            " ".join(f.get("text", "") for f in await him.say(f"tin nhắn số {i} " + "x" * 200))
            for i in range(held + 3)
        ]
    async with runtime.db.transaction() as s:
        kept = await s.scalar(select(func.count()).select_from(HandoffMessage))
    assert kept == held, "what she sent first is all kept, and no more"
    full = "đã nhận các tin nhắn trước"
    assert not any(full in a for a in answers[:held]), "held for the team"
    assert all(full in a and "113" in a for a in answers[held:]), answers[held:]


async def test_one_socket_sending_as_fast_as_it_can_is_slowed_and_told_calmly(
    runtime: Any,
    app_server: TestServer,  # noqa: F811
) -> None:
    async with Chat(url(app_server), ATTACKER_IP) as him:
        await him.open_page()
        await him.connect()
        acked, limited = 0, []
        for i in range(40):
            got = await him.say(f"spam {i} " + "y" * 5000)
            if got[-1]["type"] == "ack":
                acked += 1
            elif got[-1]["type"] == "limited":
                limited.append(got)
    assert acked == PER_MINUTE, "the first ones are handled"
    assert len(limited) == 40 - acked
    first = limited[0]
    assert 0 < first[-1]["retry"] <= 60, "the page is told when to send it again"
    assert any("113" in f.get("text", "") for f in first), "the notice names 113"

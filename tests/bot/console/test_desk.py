"""The console's team side over the real handoff service: the queue of her
teams only, Take racing a Telegram card press, replies, notes, release, end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.messages import Incoming, Outgoing
from tests.conftest import make_settings

pytest.importorskip("handoff.service", reason="the handoff service has not landed yet")

TEAMS = """
teams:
  - id: north
    name: North
    areas: ["Hà Nội"]
    telegram_group_id: -1001
    console_group: north-queue
    members:
      - {alias: Hoa, console_id: hoa}
      - {alias: Mai, telegram_user_id: 42}
  - id: south
    name: South
    areas: ["Cần Thơ"]
    console_group: south-queue
    members:
      - {alias: Lan, console_id: lan}
fallback_team: north
"""


@pytest.fixture
async def rt(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    from bot.runtime import build_runtime

    teams = tmp_path / "teams.yml"
    teams.write_text(TEAMS, encoding="utf-8")
    runtime = await build_runtime(make_settings(database_url, tmp_path, teams_file=teams))
    try:
        yield runtime
    finally:
        await runtime.close()


def desk_of(rt: Any) -> Any:
    from bot.console.desk import Desk

    return Desk(rt.engine.handoff)


async def her_request(rt: Any, address: str = "her-session-0000000000000001") -> int:
    """She walks the real flows to a queued request, as on the web page."""
    n = 0

    async def say(**kw: Any) -> list[Outgoing]:
        nonlocal n
        n += 1
        return await rt.engine.handle(
            Incoming(channel="web", address=address, message_id=str(n), **kw)
        )

    def payload(replies: list[Outgoing], label: str) -> str:
        for m in reversed(replies):
            for b in m.buttons:
                if b.label == label:
                    return b.payload
        raise AssertionError(f"no button {label!r} in {[m.text[:40] for m in replies]}")

    replies = await say(text="tôi muốn nói chuyện với người")
    replies = await say(payload=payload(replies, "Đồng ý"))
    if any(b.label == "Không, bình thường" for m in replies for b in m.buttons):
        replies = await say(payload=payload(replies, "Không, bình thường"))
    replies = await say(payload=payload(replies, "Bỏ qua"))
    replies = await say(payload=payload(replies, "Bạo lực trong gia đình"))
    # The questions before connecting: share the summary, safe to talk.
    replies = await say(payload=payload(replies, "Đồng ý chia sẻ"))
    await say(payload=payload(replies, "An toàn"))
    await say(text="chồng tôi hay say rượu")
    state = await desk_of(rt).state("hoa")
    assert len(state["queue"]) >= 1
    return int(state["queue"][-1]["id"])


async def test_members_see_only_their_teams_queue(rt: Any) -> None:
    from bot.console.desk import NotAllowed

    request_id = await her_request(rt)
    desk = desk_of(rt)
    hoa, lan = await desk.state("hoa"), await desk.state("lan")
    assert [r["id"] for r in hoa["queue"]] == [request_id]
    assert hoa["queue"][0]["alias"].startswith("#") and "say rượu" not in str(hoa)
    assert lan["queue"] == []
    for action in (desk.take, desk.release, desk.end):
        with pytest.raises(NotAllowed):
            await action("lan", request_id)
    with pytest.raises(NotAllowed):
        await desk.chat("lan", request_id)
    # Before taking, even her own team sees the card only, not her words.
    assert (await desk.chat("hoa", request_id))["messages"] == []


async def test_console_take_races_the_telegram_button(rt: Any) -> None:
    request_id = await her_request(rt)
    desk = desk_of(rt)
    press = Incoming(
        channel="telegram",
        address="-1001",
        sender_id="42",
        message_id="tg-1",
        payload=f"ho:take:{request_id}",
    )
    console, telegram = await asyncio.gather(desk.take("hoa", request_id), rt.engine.handle(press))
    from handoff.models import HandoffRequest

    async with rt.db.transaction() as s:
        request = await s.get(HandoffRequest, request_id)
    assert request is not None and request.status == "active"
    if console.ok:
        assert request.member_alias == "Hoa"
        assert "already" in telegram[0].text.lower() or "đã có người" in telegram[0].text.lower()
    else:
        assert request.member_alias == "Mai"
        assert (await desk.state("hoa"))["queue"] == []
    # Either way the request is gone from every queue.
    assert (await desk.state("hoa"))["queue"] == []


async def test_reply_note_release_and_end(rt: Any) -> None:
    from handoff.models import HandoffMessage

    request_id = await her_request(rt)
    desk = desk_of(rt)
    assert (await desk.take("hoa", request_id)).ok
    chat = await desk.chat("hoa", request_id)
    assert chat["mine"] and [m["text"] for m in chat["messages"]] == ["chồng tôi hay say rượu"]
    assert (await desk.reply("hoa", request_id, "Chào chị")).ok
    assert (await desk.note("hoa", request_id, "gọi lại sau 18h")).ok
    chat = await desk.chat("hoa", request_id)
    assert chat["messages"][-1] == {**chat["messages"][-1], "kind": "member", "text": "Chào chị"}
    assert [n["text"] for n in chat["notes"]] == ["gọi lại sau 18h"]
    async with rt.db.transaction() as s:
        from sqlalchemy import select

        bodies = (await s.scalars(select(HandoffMessage.body_enc))).all()
    assert all("18h" not in b for b in bodies), "notes are sealed"
    assert (await desk.release("hoa", request_id)).ok
    assert [r["id"] for r in (await desk.state("hoa"))["queue"]] == [request_id]
    assert (await desk.take("hoa", request_id)).ok
    assert (await desk.end("hoa", request_id)).ok
    assert (await desk.chat("hoa", request_id))["status"] == "closed"
    assert not (await desk.take("hoa", request_id)).ok


async def test_handoff_counts_reach_the_statistics(rt: Any) -> None:
    from bot.console.stats import compute

    for i in range(5):
        request_id = await her_request(rt, f"her-session-00000000000000{i:02d}")
        assert (await desk_of(rt).take("hoa", request_id)).ok
        assert (await desk_of(rt).end("hoa", request_id)).ok
    await rt.engine.stats.flush()
    numbers = await compute(rt.db, 1)
    north = numbers["handoffs"]["per_team"]["north"]
    assert north["requested"] == 5 and north["claimed"] == 5
    assert north["median_seconds_to_claim"] == 60

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


async def her_request(
    rt: Any,
    address: str = "her-session-0000000000000001",
    *,
    share: str = "Đồng ý chia sẻ",
    safe: str = "An toàn",
    read: tuple[str, ...] = (),
    area: str | None = None,
    heard: list[str] | None = None,
) -> int:
    """She walks the real flows to a queued request, as on the web page
    (reading the pages ``read`` first)."""
    n = 0

    async def say(**kw: Any) -> list[Outgoing]:
        nonlocal n
        n += 1
        replies: list[Outgoing] = await rt.engine.handle(
            Incoming(channel="web", address=address, message_id=str(n), **kw)
        )
        if heard is not None:
            heard.extend(m.text for m in replies)
        return replies

    def payload(replies: list[Outgoing], label: str) -> str:
        for m in reversed(replies):
            for b in m.buttons:
                if b.label == label:
                    return b.payload
        raise AssertionError(f"no button {label!r} in {[m.text[:40] for m in replies]}")

    for node in read:
        await say(payload=f"n:{node}")
    replies = await say(text="tôi muốn nói chuyện với người")
    replies = await say(payload=payload(replies, "Đồng ý"))
    if any(b.label == "Không, bình thường" for m in replies for b in m.buttons):
        replies = await say(payload=payload(replies, "Không, bình thường"))
    if area is None:
        replies = await say(payload=payload(replies, "Bỏ qua"))
    else:
        replies = await say(text=area)
        replies = await say(payload=payload(replies, "Đúng rồi"))  # the place understood
    replies = await say(payload=payload(replies, "Bạo lực trong gia đình"))
    # The questions before connecting: share the summary, safe to talk.
    summary = "\n".join(m.text for m in replies)
    replies = await say(payload=payload(replies, share))
    await say(payload=payload(replies, safe))
    # She saw exactly what would be shared: the same lines as on the card.
    assert "Chủ đề / Topic: bạo lực trong gia đình / violence at home" in summary
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
    numbers = await compute(rt.db, 7)
    north = numbers["handoffs"]["per_team"]["north"]
    assert north["requested"] == 5 and north["claimed"] == 5
    assert north["median_seconds_to_claim"] == 60


async def test_console_card_shows_the_summary_she_agreed_to_and_short_messages(rt: Any) -> None:
    request_id = await her_request(
        rt, safe="Chỉ tin ngắn", read=("rights_no_contact", "safety_before")
    )
    desk = desk_of(rt)
    card = "\n".join((await desk.chat("hoa", request_id))["card"])
    assert "cấm tiếp xúc / protection orders, kế hoạch an toàn / safety plan" in card
    assert "short, neutral messages only" in card
    assert "chồng tôi" not in card  # never her words
    assert (await desk.take("hoa", request_id)).ok


async def test_console_card_without_summary_when_she_says_no(rt: Any) -> None:
    request_id = await her_request(
        rt, share="Không chia sẻ", safe="Không an toàn", read=("services",)
    )
    card = "\n".join((await desk_of(rt).chat("hoa", request_id))["card"])
    assert "Summary" not in card and "services" not in card and "NOT safe now" in card


async def test_console_inserts_a_vetted_tip(rt: Any) -> None:
    request_id = await her_request(rt)
    desk = desk_of(rt)
    assert (await desk.take("hoa", request_id)).ok
    tips = (await desk.chat("hoa", request_id))["tips"]
    assert [t["n"] for t in tips][:2] == [1, 2] and "113" in tips[1]["label"]
    assert (await desk.tip("hoa", request_id, 2)).ok
    sent = (await desk.chat("hoa", request_id))["messages"][-1]
    assert sent["kind"] == "member" and "113" in sent["text"]
    assert not (await desk.tip("hoa", request_id, 99)).ok


async def test_console_transfer_to_another_team_moves_the_transcript(rt: Any) -> None:
    from sqlalchemy import select

    from handoff.models import HandoffAudit

    request_id = await her_request(rt)
    desk = desk_of(rt)
    assert (await desk.take("hoa", request_id)).ok
    assert "south" in (await desk.chat("hoa", request_id))["transfer_to"]
    assert (await desk.transfer("hoa", request_id, "south")).ok
    assert [r["id"] for r in (await desk.state("lan"))["queue"]] == [request_id]
    assert (await desk.take("lan", request_id)).ok
    chat = await desk.chat("lan", request_id)
    assert [m["text"] for m in chat["messages"]] == ["chồng tôi hay say rượu"]
    async with rt.db.transaction() as s:
        audit = (
            await s.scalars(select(HandoffAudit).where(HandoffAudit.event == "transfer"))
        ).all()
    assert [(a.member_alias, a.detail) for a in audit] == [("Hoa", "to=south")]


async def test_console_duty_toggle_and_nobody_on_duty(rt: Any) -> None:
    from sqlalchemy import select

    from handoff.models import HandoffAudit

    desk = desk_of(rt)
    assert (await desk.state("lan"))["on_duty"] is True
    assert (await desk.set_duty("lan", False)).ok
    assert (await desk.state("lan"))["on_duty"] is False
    # South's only member is off duty, north (the fallback) is on: north gets it.
    first = await her_request(rt, "her-duty-000000000000001", area="Cần Thơ")
    assert [r["id"] for r in (await desk.state("hoa"))["queue"]] == [first]
    assert (await desk.state("lan"))["queue"] == []
    # Nobody on duty anywhere: she is told so at once, with the hotlines.
    assert (await desk.set_duty("hoa", False)).ok
    await rt.engine.handle(Incoming(channel="telegram", address="42", message_id="9", text="/off"))
    heard: list[str] = []
    await her_request(rt, "her-duty-000000000000002", area="Cần Thơ", heard=heard)
    told = "\n".join(heard)
    assert "không có ai của nhóm đang trực" in told and "1900 969 680" in told
    async with rt.db.transaction() as s:
        events = (await s.scalars(select(HandoffAudit.event).order_by(HandoffAudit.id))).all()
    assert [e for e in events if e in ("on", "off")] == ["off", "off", "off"]

"""The team's desk on the real service and a real database (SQLite and
PostgreSQL): members on Zalo next to Telegram, one claim across apps, the
questions before connecting (summary, safe to talk), quick replies, transfer,
duty and honest waiting. Channels are recording senders; the whole Zalo and
Telegram round trips are in ``test_zalo_e2e.py`` and ``test_telegram_e2e.py``.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.messages import Incoming, Outgoing
from bot.store.db import Database
from bot.store.models import DailyCount
from handoff.models import HandoffAudit, HandoffRequest
from handoff.teams import TeamsFileError, parse_teams
from responses import load_runner
from tests.handoff.conftest import GROUP_A, HOA, LAN, Harness, RecordingSender

ZGROUP = "g-5566778899"
ZHOA, ZTHU = "zhoa6ede9afa66b8", "zthu7fefabfb77c9"

DESK: dict[str, Any] = {
    "teams": [
        {
            "id": "phu-hung",
            "name": "Tổ Phú Hưng",
            "areas": ["Phú Hưng"],
            "telegram_group_id": int(GROUP_A),
            "zalo_group_id": ZGROUP,
            "contacts": ["Công an xã: 0275 000 000"],
            "members": [
                {"alias": "Hoa", "telegram_user_id": int(HOA), "zalo_user_id": ZHOA},
                {"alias": "Lan", "telegram_user_id": int(LAN)},
                {"alias": "Thu", "zalo_user_id": ZTHU},
            ],
        },
        {
            "id": "ben-tre",
            "name": "Tổ tỉnh Bến Tre",
            "areas": ["Bến Tre"],
            "members": [{"alias": "Mai", "zalo_user_id": "zmai11223344"}],
        },
    ],
    "fallback_team": "ben-tre",
}


class Desk(Harness):
    """The handoff harness with a Zalo Bot sender and the real flows, so the
    vetted texts (tips, questions) are the packaged ones."""

    def __init__(self, db: Database, config: Any) -> None:
        super().__init__(db, config)
        self.service.ctx.runner = load_runner()
        self.zalo = RecordingSender("zalo_bot")
        self.worker.senders["zalo_bot"] = self.zalo

    async def zalo_member(self, member_id: str, text: str) -> list[Outgoing] | None:
        return await self.service.handle_team(
            Incoming("zalo_bot", member_id, message_id=f"z{next(self._n)}", text=text)
        )

    async def zalo_group(self, member_id: str, text: str) -> list[Outgoing] | None:
        return await self.service.handle_team(
            Incoming(
                "zalo_bot", ZGROUP, message_id=f"zg{next(self._n)}", text=text, sender_id=member_id
            )
        )

    async def her(self, address: str, payload: str | None = None, text: str | None = None) -> Any:
        async with self.db.transaction() as s:
            from bot.store import users as user_store

            user, _ = await user_store.load_user(
                s, self.db, self.keyring, "web", address, self.clock()
            )
            return await self.service.relay_from_user(
                s, user, Incoming("web", address, text=text, payload=payload), None
            )

    async def request(self) -> HandoffRequest:
        async with self.db.transaction() as s:
            from sqlalchemy import select

            return (
                await s.scalars(select(HandoffRequest).order_by(HandoffRequest.id.desc()))
            ).first()


def config(**changes: Any) -> Any:
    data = copy.deepcopy(DESK)
    data.update(changes)
    return parse_teams(data)


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Desk]:
    db = Database(database_url)
    await db.upgrade()
    try:
        yield Desk(db, config(ask_before_connecting=False))
    finally:
        await db.dispose()


@pytest.fixture
async def asking(database_url: str) -> AsyncIterator[Desk]:
    db = Database(database_url)
    await db.upgrade()
    try:
        yield Desk(db, config())
    finally:
        await db.dispose()


def texts(messages: list[Outgoing] | None) -> str:
    return "\n".join(m.text for m in messages or [])


# ---- the teams file ---------------------------------------------------------------


def test_zalo_fields_are_checked_with_one_line_errors() -> None:
    bad = copy.deepcopy(DESK)
    bad["teams"][0]["members"][2]["zalo_user_id"] = "has spaces in it"
    with pytest.raises(TeamsFileError, match=r"members\[2\]\.zalo_user_id"):
        parse_teams(bad)
    bad = copy.deepcopy(DESK)
    bad["teams"][0]["zalo_group_id"] = True
    with pytest.raises(TeamsFileError, match=r"zalo_group_id"):
        parse_teams(bad)
    nobody = copy.deepcopy(DESK)
    nobody["teams"][1]["members"] = [{"alias": "Mai"}]
    with pytest.raises(TeamsFileError, match="zalo_user_id"):
        parse_teams(nobody)
    # A team with Zalo members and no group at all is valid: cards go in private.
    assert parse_teams(DESK).team("ben-tre").cards_in_private  # type: ignore[union-attr]


# ---- Zalo members and the one claim ---------------------------------------------------


async def test_card_in_the_zalo_group_is_text_and_nhan_takes_it(desk: Desk) -> None:
    await desk.start("her1")
    await desk.drain()
    [zcard] = desk.zalo.to(ZGROUP)
    request = await desk.request()
    assert f"nhận {request.alias}" in zcard.message.text and not zcard.message.buttons
    assert desk.card(GROUP_A).message.buttons  # Telegram keeps its Take button

    taken = await desk.zalo_group(ZTHU, f"nhận {request.alias.lower()}")
    assert "You took it" in texts(taken)
    await desk.drain()
    connected = desk.zalo.texts_to(ZTHU)
    assert any("Connected" in t for t in connected)
    # The Telegram card is edited: no Take button left on it.
    assert any("taken by Thu" in s.message.text for s in desk.telegram.to(GROUP_A))

    await desk.user_says("her1", "anh ấy đi rồi")
    await desk.drain()
    assert any(t.endswith("anh ấy đi rồi") for t in desk.zalo.texts_to(ZTHU))
    assert not any("her1" in t for t in desk.zalo.texts_to(ZTHU))
    await desk.zalo_member(ZTHU, "Chị an toàn chưa?")
    await desk.zalo_member(ZTHU, "/end")
    await desk.drain()
    to_her = desk.web.texts_to("her1")
    assert "Tổ hỗ trợ: Chị an toàn chưa?" in to_her and not any("Thu" in t for t in to_her)
    assert (await desk.request()).status == "closed"


async def test_taking_by_the_number_shown_in_private(desk: Desk) -> None:
    await desk.start("her2")
    request = await desk.request()
    answer = await desk.zalo_member(ZTHU, f"take {request.id}")
    assert "You took it" in texts(answer)
    await desk.drain()
    assert any("Connected" in t for t in desk.zalo.texts_to(ZTHU))


async def test_zalo_and_telegram_claim_at_once_exactly_one_wins(desk: Desk) -> None:
    for n in range(5):
        await desk.start(f"race{n}")
        request = await desk.request()
        answers = await asyncio.gather(
            desk.zalo_group(ZTHU, f"nhận {request.alias}"),
            desk.press_take(GROUP_A, LAN, request.id),
        )
        won = [a for a in answers if "You took it" in texts(a)]
        lost = [a for a in answers if "already took" in texts(a)]
        assert len(won) == 1 and len(lost) == 1, answers
        claimed = await desk.request()
        assert claimed.status == "active" and claimed.member_alias in {"Thu", "Lan"}


async def test_a_member_with_both_apps_chats_where_she_took_it(desk: Desk) -> None:
    await desk.start("her3")
    request = await desk.request()
    await desk.zalo_member(ZHOA, f"nhận {request.alias}")
    await desk.drain()
    assert any("Connected" in t for t in desk.zalo.texts_to(ZHOA))
    assert not any("Connected" in t for t in desk.telegram.texts_to(HOA))
    # Her commands work from either app: the member is one person.
    assert "#" in texts(await desk.member(HOA, "/list"))


# ---- questions before connecting ------------------------------------------------------


async def test_she_sees_the_summary_agrees_and_says_short_messages_only(asking: Desk) -> None:
    await asking.user_action(
        "her4", "consent", {"node": "consent", "version": "v", "language": "en"}
    )
    async with asking.db.transaction() as s:
        from bot.store import users as user_store

        user, _ = await user_store.load_user(
            s, asking.db, asking.keyring, "web", "her4", asking.clock()
        )
        user.language = "en"
    first = await asking.user_action(
        "her4",
        "start_handoff",
        {"area": "phu hung", "topic": "safety", "seen": ["rights_no_contact", "emergency", "menu"]},
    )
    shown = texts(first)
    assert "protection orders" in shown and "Danger answer shown: có / yes" in shown
    assert "Phú Hưng" in shown and [b.payload for b in first[-1].buttons][:2] == [
        "ho:share:yes",
        "ho:share:no",
    ]
    await asking.drain()
    assert not asking.telegram.sent, "no card before she answered"

    safe_q = await asking.her("her4", payload="ho:share:yes")
    assert "safe" in texts(safe_q)
    queued = await asking.her("her4", payload="ho:safe:short")
    assert "ho:wait" in [b.payload for b in queued[-1].buttons]
    await asking.drain()
    card = asking.card(GROUP_A).message.text
    assert "short, neutral messages only" in card and "protection orders" in card
    request = await asking.request()
    await asking.press_take(GROUP_A, HOA, request.id)
    await asking.drain()
    connected = next(t for t in asking.telegram.texts_to(HOA) if "Connected" in t)
    assert "protection orders" in connected and "Keep messages short and neutral" in connected


async def test_she_says_no_to_the_summary_and_not_safe(asking: Desk) -> None:
    await asking.start("her5")
    await asking.her("her5", text="không")
    await asking.her("her5", text="không")
    await asking.drain()
    card = asking.card(GROUP_A).message.text
    assert "Summary" not in card and "NOT safe now" in card


async def test_unanswered_questions_do_not_hold_the_card(asking: Desk) -> None:
    await asking.start("her6")
    asking.clock.advance(4)
    fired = await asking.service.timers.tick()
    assert fired["intake"] == 1
    await asking.drain()
    card = asking.card(GROUP_A).message.text
    assert "not answered" in card and "Summary" not in card


# ---- quick replies, transfer, duty, waiting ----------------------------------------------


async def test_tip_lists_vetted_texts_and_sends_one_to_her(desk: Desk) -> None:
    await desk.start("her7")
    request = await desk.request()
    await desk.zalo_member(ZTHU, f"nhận {request.alias}")
    menu = texts(await desk.zalo_member(ZTHU, "/tip"))
    assert "1. " in menu and "Hotlines" in menu
    await desk.zalo_member(ZTHU, "/tip 2")
    await desk.drain()
    sent = desk.web.texts_to("her7")[-1]
    assert sent.startswith("Tổ hỗ trợ:") and "113" in sent
    # The hotlines text carries her team's own contacts from the teams file.
    await desk.zalo_member(ZTHU, "/tip 1")
    await desk.drain()
    assert "Công an xã: 0275 000 000" in desk.web.texts_to("her7")[-1]


async def test_transfer_to_a_colleague_and_to_another_team(desk: Desk) -> None:
    await desk.start("her8")
    request = await desk.request()
    await desk.zalo_member(ZTHU, f"nhận {request.alias}")
    await desk.user_says("her8", "tôi sợ lắm")
    answer = await desk.zalo_member(ZTHU, "/transfer Lan")
    assert "Transferred to Lan" in texts(answer)
    await desk.drain()
    to_lan = "\n".join(desk.telegram.texts_to(LAN))
    assert "transferred this chat to you" in to_lan and "tôi sợ lắm" in to_lan
    answer = await desk.member(LAN, "/transfer ben-tre")
    assert "Tổ tỉnh Bến Tre" in texts(answer)
    await desk.drain()
    # Bến Tre has no group: the card reaches its on-duty member in private.
    assert any("Transferred from" in t for t in desk.zalo.texts_to("zmai11223344"))
    answer = await desk.zalo_member("zmai11223344", f"nhận {request.alias}")
    await desk.drain()
    assert any("tôi sợ lắm" in t for t in desk.zalo.texts_to("zmai11223344"))
    async with desk.db.transaction() as s:
        from sqlalchemy import select

        rows = (await s.scalars(select(HandoffAudit).where(HandoffAudit.event == "transfer"))).all()
        assert [r.detail for r in rows] == ["to=Lan", "to=ben-tre"]


async def test_nobody_on_duty_is_told_at_once_with_hotlines(desk: Desk) -> None:
    for member in (HOA, LAN):
        assert "off duty" in texts(await desk.member(member, "/off"))
    await desk.zalo_member(ZTHU, "/off")
    await desk.zalo_member("zmai11223344", "/off")
    answer = texts(await desk.start("her9"))
    assert "không có ai của nhóm đang trực" in answer and "1900 969 680" in answer
    await desk.zalo_member("zmai11223344", "/on")
    await desk.start("her10", area="Bến Tre")
    await desk.drain()
    assert any("nhận" in t for t in desk.zalo.texts_to("zmai11223344"))


async def test_honest_wait_position_and_usual_wait(desk: Desk) -> None:
    await desk.start("w1")
    await desk.start("w2")
    answer = texts(await desk.her("w2", text="còn bao lâu?"))
    assert "vị trí số 2" in answer and "chưa có đủ số liệu" in answer
    async with desk.db.transaction() as s:
        for label, n in (("phu-hung|300", 4), ("phu-hung|900", 3)):
            s.add(DailyCount(day="2026-11-20", metric="claim_seconds", label=label, count=n))
    answer = texts(await desk.her("w2", payload="ho:wait"))
    assert "trong vòng 5 phút" in answer
    # Her words are never taken for a wait question when they are not one.
    await desk.her("w2", text="chồng tôi hỏi tôi còn bao lâu nữa thì về nhà vì anh ấy đang say")
    async with desk.db.transaction() as s:
        from sqlalchemy import func, select

        from handoff.models import HandoffMessage

        assert await s.scalar(select(func.count(HandoffMessage.id))) == 1


async def test_to_and_release_from_zalo_as_on_telegram(desk: Desk) -> None:
    await desk.start("her11")
    await desk.start("her12")
    async with desk.db.transaction() as s:
        from sqlalchemy import select

        rows = (await s.scalars(select(HandoffRequest).order_by(HandoffRequest.id))).all()
        first, second = rows[-2], rows[-1]
    await desk.zalo_member(ZTHU, f"nhận {first.alias}")
    await desk.zalo_member(ZTHU, f"nhan #{second.alias.lower()}")
    assert "several open chats" in texts(await desk.zalo_member(ZTHU, "hello"))
    await desk.zalo_member(ZTHU, f"/to {second.alias} Chào chị")
    await desk.drain()
    assert desk.web.texts_to("her12")[-1] == "Tổ hỗ trợ: Chào chị"
    assert "Given back" in texts(await desk.zalo_member(ZTHU, f"/release {first.alias}"))
    await desk.drain()
    assert sum(f"nhận {first.alias}" in t for t in desk.zalo.texts_to(ZGROUP)) == 2


async def test_take_care_to_her_is_a_message_not_a_claim(desk: Desk) -> None:
    await desk.start("her13")
    request = await desk.request()
    await desk.zalo_member(ZTHU, f"nhận {request.alias}")
    await desk.zalo_member(ZTHU, "take care")
    await desk.zalo_member(ZTHU, "nhận 9999")
    await desk.drain()
    assert desk.web.texts_to("her13")[-2:] == ["Tổ hỗ trợ: take care", "Tổ hỗ trợ: nhận 9999"]
    # In the group a code that names nothing gets a short answer.
    assert "No open chat" in texts(await desk.zalo_group(ZTHU, "nhận QQQQ"))

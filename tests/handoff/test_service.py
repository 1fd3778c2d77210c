"""The whole handoff on a real database, driven as the engine and a Telegram
team would drive it: consent, routing, cards, claim, relay, close, erase."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.crypto import outbox_payload_context
from bot.interfaces import DeliveryError, Failure
from bot.store.models import OutboxItem
from handoff.models import HandoffAudit, HandoffConsent, HandoffMessage, HandoffRequest
from tests.handoff.conftest import GROUP_A, GROUP_B, HOA, LAN, MAI, OUTSIDER, Harness

SHE = "web-session-she"


async def claimed(h: Harness, member: str = HOA, group: str = GROUP_A) -> int:
    """She asks, the card reaches the group, ``member`` takes it."""
    await h.start(SHE)
    await h.drain()
    card = h.card(group)
    rid = h.request_id(card)
    answer = await h.press_take(group, member, rid, card.ids[0])
    assert answer and answer[0].alert
    await h.drain()
    return rid


async def test_consent_is_recorded_without_content(harness: Harness) -> None:
    await harness.user_action(
        SHE, "consent", {"node": "consent", "version": "abc123", "language": "en"}
    )
    async with harness.db.transaction() as s:
        row = (await s.scalars(select(HandoffConsent))).one()
    assert (row.text_version, row.language, row.node) == ("abc123", "en", "consent")
    assert row.withdrawn_at is None and len(row.user_key) == 64


async def test_no_handoff_without_consent(harness: Harness) -> None:
    out = await harness.user_action(SHE, "start_handoff", {"area": "Phú Hưng", "topic": None})
    assert out and "113" in out[0].text
    await harness.drain()
    assert harness.telegram.sent == []


async def test_card_goes_to_the_covering_team_with_alias_and_no_content(harness: Harness) -> None:
    out = await harness.start(SHE, area="xa phu hung")  # no accents, with "xã"
    assert out and "113" in out[0].text  # queued: she is told 113 for danger
    await harness.drain()
    card = harness.card(GROUP_A)
    assert harness.telegram.to(GROUP_B) == []
    text = card.message.text
    assert "#" in text and "Phú Hưng" in text and "violence" in text and "vi" in text
    assert card.message.buttons[0].label == "Nhận / Take"
    alias = text.split("#", 1)[1].split()[0]
    assert len(alias) == 4 and not set(alias) & set("0O1IL2Z5S8B6GUV")
    assert SHE not in text


async def test_unknown_area_goes_to_the_fallback_team(harness: Harness) -> None:
    await harness.start(SHE, area="Hà Nội")
    await harness.drain()
    assert harness.card(GROUP_B)
    assert harness.telegram.to(GROUP_A) == []


async def test_two_members_press_take_at_once_one_wins(harness: Harness) -> None:
    await harness.start(SHE)
    await harness.drain()
    card = harness.card(GROUP_A)
    rid = harness.request_id(card)
    answers = await asyncio.gather(
        harness.press_take(GROUP_A, HOA, rid, card.ids[0]),
        harness.press_take(GROUP_A, LAN, rid, card.ids[0]),
    )
    texts = [a[0].text for a in answers if a]
    assert all(a and a[0].alert for a in answers)
    assert sum("You took it" in t for t in texts) == 1
    assert sum("already took" in t for t in texts) == 1
    await harness.drain()
    # Exactly one member was connected, and the card was edited, not reposted.
    connected = [
        m for m in (HOA, LAN) if any("Connected with" in t for t in harness.telegram.texts_to(m))
    ]
    assert len(connected) == 1
    edits = [s for s in harness.telegram.to(GROUP_A) if s.message.edit_of == card.ids[0]]
    assert len(edits) == 1 and "taken by" in edits[0].message.text
    async with harness.db.transaction() as s:
        claims = await s.scalar(
            select(func.count()).select_from(HandoffAudit).where(HandoffAudit.event == "claim")
        )
    assert claims == 1


async def test_non_member_and_other_team_are_refused(harness: Harness) -> None:
    await harness.start(SHE)
    await harness.drain()
    rid = harness.request_id(harness.card(GROUP_A))
    for who in (OUTSIDER, MAI):  # MAI is in the other team
        answer = await harness.press_take(GROUP_A, who, rid)
        assert answer and answer[0].alert and "Only members" in answer[0].text
    late = await harness.press_take(GROUP_A, HOA, rid)
    assert late and "You took it" in late[0].text
    again = await harness.press_take(GROUP_A, LAN, rid)
    assert again and "already took" in again[0].text


async def test_messages_relay_both_ways_without_identities(harness: Harness) -> None:
    rid = await claimed(harness)
    await harness.user_says(SHE, "Anh ấy lại đánh tôi tối qua")
    await harness.drain()
    to_hoa = harness.telegram.texts_to(HOA)
    relayed = [t for t in to_hoa if "đánh tôi" in t]
    assert relayed and relayed[0].startswith("#")
    assert SHE not in "\n".join(to_hoa)

    answer = await harness.member(HOA, "Chị có an toàn không?")
    assert answer == []
    await harness.drain()
    to_her = harness.web.texts_to(SHE)
    mine = [t for t in to_her if "an toàn" in t]
    assert mine == ["Tổ hỗ trợ: Chị có an toàn không?"]
    assert all("Hoa" not in t and HOA not in t for t in to_her)
    assert all(s.message.protect for s in harness.web.to(SHE) if "an toàn" in s.message.text)

    # Non-text: a notice, not the media.
    await harness.user_says(SHE, None, attachment="photo")
    await harness.member(HOA, None, attachment="photo")
    await harness.drain()
    assert any("a photo" in t for t in harness.telegram.texts_to(HOA))
    assert any("chỉ chuyển được tin nhắn chữ" in t for t in harness.web.texts_to(SHE))

    # Transcript: sealed, both directions.
    async with harness.db.transaction() as s:
        rows = (
            await s.scalars(select(HandoffMessage).where(HandoffMessage.request_id == rid))
        ).all()
    assert {r.kind for r in rows} == {"user", "member"}
    assert all("an toàn" not in r.body_enc and "đánh" not in r.body_enc for r in rows)


async def test_member_end_closes_and_both_are_told(harness: Harness) -> None:
    rid = await claimed(harness)
    await harness.user_says(SHE, "cảm ơn")
    answer = await harness.member(HOA, "/end")
    assert answer and "ended" in answer[0].text
    await harness.drain()
    assert any("kết thúc" in t for t in harness.web.texts_to(SHE))
    async with harness.db.transaction() as s:
        req = await s.get(HandoffRequest, rid)
        assert req is not None and req.status == "closed" and req.close_reason == "member"
        audit = (await s.scalars(select(HandoffAudit).where(HandoffAudit.event == "end"))).one()
    assert audit.member_alias == "Hoa" and "u=1" in (audit.detail or "")
    again = await harness.member(HOA, "còn đó không?")
    assert again and "no open chat" in again[0].text


async def test_user_stop_closes_and_member_is_told(harness: Harness) -> None:
    await claimed(harness)
    out = await harness.user_action(SHE, "end")
    assert out and "kết thúc" in out[0].text
    await harness.drain()
    assert any("The person ended the chat" in t for t in harness.telegram.texts_to(HOA))
    answer = await harness.member(HOA, "xin chào?")
    assert answer and "no open chat" in answer[0].text
    async with harness.db.transaction() as s:
        consent = (await s.scalars(select(HandoffConsent))).one()
    assert consent.withdrawn_at is not None


async def test_quick_exit_tells_the_member_she_left(harness: Harness) -> None:
    await claimed(harness)
    out = await harness.user_action(SHE, "end", {"reason": "left"})
    assert out == []
    await harness.drain()
    assert any("The person left" in t for t in harness.telegram.texts_to(HOA))


async def test_release_requeues_with_a_new_card(harness: Harness) -> None:
    rid = await claimed(harness)
    first_card = harness.card(GROUP_A)
    answer = await harness.member(HOA, "/release")
    assert answer and "back to the queue" in answer[0].text
    await harness.drain()
    new_card = harness.card(GROUP_A)
    assert new_card is not first_card and harness.request_id(new_card) == rid
    await harness.user_says(SHE, "có ai không?")  # held while queued
    answer = await harness.press_take(GROUP_A, LAN, rid, new_card.ids[0])
    assert answer and "You took it" in answer[0].text
    await harness.drain()
    assert any("có ai không?" in t for t in harness.telegram.texts_to(LAN))
    async with harness.db.transaction() as s:
        events = list((await s.scalars(select(HandoffAudit.event).order_by(HandoffAudit.id))).all())
    assert events == ["queued", "claim", "release", "claim"]


async def test_several_chats_reply_and_to_route_to_the_right_one(harness: Harness) -> None:
    await claimed(harness)
    other = "web-session-other"
    await harness.start(other)
    await harness.drain()
    card = harness.card(GROUP_A)
    await harness.press_take(GROUP_A, HOA, harness.request_id(card), card.ids[0])
    await harness.user_says(other, "tin của người thứ hai")
    await harness.drain()

    ambiguous = await harness.member(HOA, "xin chào")
    assert ambiguous and "several open chats" in ambiguous[0].text

    relayed = next(s for s in harness.telegram.to(HOA) if "người thứ hai" in s.message.text)
    await harness.member(HOA, "trả lời người thứ hai", reply_to=relayed.ids[0])
    alias_one = (
        next(t for t in harness.telegram.texts_to(HOA) if t.startswith("🔗"))
        .split("#", 1)[1]
        .split()[0]
    )
    await harness.member(HOA, f"/to #{alias_one} cho người thứ nhất")
    await harness.drain()
    assert "Tổ hỗ trợ: trả lời người thứ hai" in harness.web.texts_to(other)
    assert "Tổ hỗ trợ: cho người thứ nhất" in harness.web.texts_to(SHE)
    assert "Tổ hỗ trợ: cho người thứ nhất" not in harness.web.texts_to(other)


async def test_emergency_mid_handoff_reaches_the_member_flagged(harness: Harness) -> None:
    await claimed(harness)
    await harness.user_says(SHE, "cứu tôi với anh ta cầm dao", intent="emergency")
    await harness.drain()
    to_hoa = harness.telegram.texts_to(HOA)
    flag = next(i for i, t in enumerate(to_hoa) if "113" in t)
    words = next(i for i, t in enumerate(to_hoa) if "cầm dao" in t)
    assert flag < words


async def test_erase_mid_handoff_ends_it_and_deletes_her_rows(harness: Harness) -> None:
    rid = await claimed(harness)
    await harness.user_says(SHE, "một bí mật")
    await harness.drain()
    await harness.user_says(SHE, "chưa gửi đi")  # still in the outbox when she erases
    async with harness.db.transaction() as s:
        user_key = harness.keyring.user_key("web", SHE)
        await harness.service.forget(s, user_key)
    await harness.drain()
    to_hoa = harness.telegram.texts_to(HOA)
    assert any("The person ended the chat" in t for t in to_hoa)
    assert not any("chưa gửi đi" in t for t in to_hoa)
    async with harness.db.transaction() as s:
        assert await s.get(HandoffRequest, rid) is None
        for table in (HandoffMessage, HandoffConsent):
            assert await s.scalar(select(func.count()).select_from(table)) == 0
        events = list((await s.scalars(select(HandoffAudit.event))).all())
    assert "end" in events


async def test_unreachable_user_is_reported_to_the_member_once(harness: Harness) -> None:
    await claimed(harness)
    harness.web.fail[SHE] = DeliveryError(Failure.WINDOW_CLOSED, "outside 7 days")
    await harness.member(HOA, "chị ơi")
    await harness.drain()
    assert sum("can no longer be reached" in t for t in harness.telegram.texts_to(HOA)) == 1
    answer = await harness.member(HOA, "chị còn đó không")
    assert answer and "can no longer be reached" in answer[0].text
    del harness.web.fail[SHE]
    await harness.user_says(SHE, "tôi đây")
    await harness.drain()
    assert any("She wrote again" in t for t in harness.telegram.texts_to(HOA))
    assert await harness.member(HOA, "tốt quá") == []


async def test_member_who_never_started_the_bot_gives_the_request_back(harness: Harness) -> None:
    harness.telegram.fail[HOA] = DeliveryError(
        Failure.CONTACT_STOPPED, "bot can't initiate conversation"
    )
    rid = await claimed(harness)
    await harness.drain()
    texts = harness.telegram.texts_to(GROUP_A)
    assert any("press Start" in t for t in texts)
    async with harness.db.transaction() as s:
        req = await s.get(HandoffRequest, rid)
        assert req is not None and req.status == "queued" and req.member_key is None
    assert len([s for s in harness.telegram.to(GROUP_A) if s.message.buttons]) == 2


async def test_group_chatter_is_not_treated_as_a_user(harness: Harness) -> None:
    from bot.messages import Incoming

    out = await harness.service.handle_team(
        Incoming("telegram", GROUP_A, text="hello", sender_id=HOA)
    )
    assert out == []
    assert await harness.service.handle_team(Incoming("telegram", "12345", text="hi")) is None


async def test_redelivered_member_message_is_relayed_once(harness: Harness) -> None:
    from bot.messages import Incoming

    await claimed(harness)
    for _ in range(2):
        await harness.service.handle_team(
            Incoming("telegram", HOA, message_id="same", text="một lần")
        )
    await harness.drain()
    assert harness.web.texts_to(SHE).count("Tổ hỗ trợ: một lần") == 1


async def test_outbox_rows_for_the_team_carry_no_identity(harness: Harness) -> None:
    await claimed(harness)
    await harness.user_says(SHE, "xin chào")
    await harness.drain()
    async with harness.db.transaction() as s:
        items = (await s.scalars(select(OutboxItem))).all()
    for item in items:
        payload = harness.keyring.open_json(
            item.payload_enc, outbox_payload_context(item.recipient)
        )
        if item.channel == "telegram":
            assert SHE not in payload["text"]
        else:
            assert "Hoa" not in payload["text"] and HOA not in payload["text"]


async def test_member_commands_arriving_as_payloads_get_help(harness: Harness) -> None:
    from bot.messages import Incoming

    out = await harness.service.handle_team(
        Incoming("telegram", HOA, message_id="x1", payload="cmd:start")
    )
    assert out and "/release" in out[0].text and "Hoa" in out[0].text
    assert harness.service.team_group_ids() == {GROUP_A, GROUP_B}

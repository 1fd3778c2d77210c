"""The handoff through the real python-telegram-bot application talking HTTP
to the Bot API stand-in: she in her private chat, the team in its group and
the members in their private chats with the bot. The application and the
``tg`` fixture are in ``conftest.py`` (shared with ``test_telegram_desk.py``)."""

from __future__ import annotations

import time

from handoff.service import HandoffService
from tests.fakes.telegram_api import ChatMessage, FakeTelegramAPI
from tests.handoff.conftest import GROUP, HER, HOA_ID, LAN_ID, Tg


async def test_handoff_through_the_real_telegram_application(tg: Tg) -> None:
    api = tg.api
    await tg.say(HER, "tôi muốn nói chuyện với người thật")
    await tg.tap(HER, "Đồng ý")
    if any("kín đáo" in label for m in api.sent_to(HER)[-1:] for label, _ in m.buttons):
        await tg.tap(HER, "bình thường")
    await tg.say(HER, "phu hung")
    await tg.tap(HER, "Đúng")  # "Mình hiểu là: Phú Hưng — đúng không?"
    queued = await tg.tap(HER, "Bạo lực")
    assert any("113" in (m.text or "") for m in queued)

    await tg.drain()
    [card] = [m for m in api.sent_to(GROUP) if m.buttons]
    assert "Phú Hưng" in (card.text or "") and str(HER) not in (card.text or "")
    payload = card.payloads[0]

    # Two members press Take at the same moment: one wins, one gets a pop-up.
    await tg.push(
        api.press(GROUP, card.message_id, payload, user_id=HOA_ID),
        api.press(GROUP, card.message_id, payload, user_id=LAN_ID),
    )
    answers = [a.get("text", "") for a in api.callback_answers]
    assert sum("You took it" in a for a in answers) == 1
    assert sum("already took" in a for a in answers) == 1
    await tg.drain()
    assert any("taken by" in str(e.get("text")) for e in api.edits)
    winner = HOA_ID if any("Connected" in t for t in tg.texts(HOA_ID)) else LAN_ID
    loser = LAN_ID if winner == HOA_ID else HOA_ID
    assert not any("Connected" in t for t in tg.texts(loser))

    # Both ways, with no name, username or id of the other side.
    await tg.say(HER, "anh ấy vừa đi ra ngoài")
    await tg.drain()
    relayed = [m for m in api.sent_to(winner) if "vừa đi ra ngoài" in (m.text or "")]
    assert relayed and all(
        f"User{HER}" not in (m.text or "") and str(HER) not in (m.text or "") for m in relayed
    )
    await tg.say(
        winner,
        "Chị khoá cửa lại nhé",
        reply_to_message={
            "message_id": relayed[0].message_id,
            "chat": {"id": winner, "type": "private", "first_name": f"User{winner}"},
            "date": int(time.time()),
            "text": relayed[0].text,
        },
    )
    await tg.drain()
    to_her = tg.texts(HER)
    assert "Tổ hỗ trợ: Chị khoá cửa lại nhé" in to_her
    assert not any(
        f"User{winner}" in t or str(winner) in t or "Hoa" in t or "Lan" in t for t in to_her
    )

    # /end closes: both are told.
    ended = await tg.say(winner, "/end")
    assert any("ended" in (m.text or "") for m in ended)
    await tg.drain()
    assert "Tổ hỗ trợ" not in tg.texts(HER)[-1]


# ---- what stays on the team's phones (issue #14) ------------------------------------

#: Her words and the member's, each with a marker no other text contains.
HER_WORDS = "Anh ấy lại say rồi, mã QX7HER em đang trốn ở nhà bà ngoại"
MEMBER_WORDS = "Chị cứ ở yên đó nhé, mã QX7MEM tổ sẽ gọi lại sau"


async def _connected_and_talking(tg: Tg) -> ChatMessage:
    """She asks for a person, Hoa takes it, one message each way; returns the card."""
    api = tg.api
    await tg.say(HER, "tôi muốn nói chuyện với người thật")
    await tg.tap(HER, "Đồng ý")
    if any("kín đáo" in label for m in api.sent_to(HER)[-1:] for label, _ in m.buttons):
        await tg.tap(HER, "bình thường")
    await tg.say(HER, "phu hung")
    await tg.tap(HER, "Đúng")  # "Mình hiểu là: Phú Hưng — đúng không?"
    await tg.tap(HER, "Bạo lực")
    await tg.drain()
    [card] = [m for m in api.sent_to(GROUP) if m.buttons]
    await tg.push(api.press(GROUP, card.message_id, card.payloads[0], user_id=HOA_ID))
    await tg.drain()
    await tg.say(HER, HER_WORDS)
    await tg.drain()
    await tg.say(HOA_ID, MEMBER_WORDS)
    await tg.drain()
    assert api.holds(HOA_ID, "QX7HER") and api.holds(HOA_ID, "QX7MEM")
    assert api.holds(HER, "QX7MEM")
    # Her words cannot be forwarded or saved from the member's phone.
    assert all(m.protected for m in api.history(HOA_ID) if "QX7HER" in (m.text or ""))
    return card


def _card_is_neutral(api: FakeTelegramAPI, card: ChatMessage) -> bool:
    shown = api.chats[GROUP][card.message_id]
    return (
        not shown.deleted
        and "closed" in (shown.text or "")
        and "Phú Hưng" not in (shown.text or "")
    )


async def test_erase_empties_the_members_chat_of_her_words(tg: Tg) -> None:
    api = tg.api
    card = await _connected_and_talking(tg)

    await tg.say(HER, "/xoa")
    await tg.tap(HER, "X")  # "Xoá" (or "Xóa"): the only button with an X
    await tg.drain()

    assert not api.holds(HOA_ID, "QX7HER"), "her words are still on the member's phone"
    assert not api.holds(HOA_ID, "QX7MEM"), "the member's reply is still in the member's chat"
    assert not api.holds(HER, "QX7HER") and not api.holds(HER, "QX7MEM")
    assert any("erased" in (m.text or "") for m in api.history(HOA_ID))
    assert any("ended the chat" in (m.text or "") for m in api.history(HOA_ID))
    assert _card_is_neutral(api, card)
    # The console forgets at the same moment: no request, no transcript.
    async with tg.rt.db.transaction() as session:
        from sqlalchemy import func, select

        from handoff.models import HandoffMessage, HandoffRequest

        assert await session.scalar(select(func.count()).select_from(HandoffMessage)) == 0
        assert await session.scalar(select(func.count()).select_from(HandoffRequest)) == 0


async def test_after_the_chat_ends_the_copies_go_once_the_grace_period_is_over(tg: Tg) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from bot.messages import utcnow
    from handoff.models import HandoffMessage

    api = tg.api
    card = await _connected_and_talking(tg)
    handoff = tg.rt.engine.handoff
    assert isinstance(handoff, HandoffService)
    ended = await tg.say(HOA_ID, "/end")
    # The member is told when the copies go.
    assert any("In 1 h the bot deletes" in (m.text or "") for m in ended)
    await tg.drain()

    # Within the grace period nothing is deleted: she may still be helped.
    assert await handoff.copies.tick(utcnow() + timedelta(minutes=30)) == 0
    await tg.drain()
    assert api.holds(HOA_ID, "QX7HER") and api.holds(HOA_ID, "QX7MEM")

    assert await handoff.copies.tick(utcnow() + timedelta(minutes=61)) == 1
    await tg.drain()
    assert not api.holds(HOA_ID, "QX7HER") and not api.holds(HOA_ID, "QX7MEM")
    assert any("erased" in (m.text or "") for m in api.history(HOA_ID))
    assert _card_is_neutral(api, card)
    # Her own chat is hers: the team's answer stays until she erases.
    assert api.holds(HER, "QX7MEM")
    async with tg.rt.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(HandoffMessage)) == 0
    # Once only: a second pass (another process) finds nothing to do.
    assert await handoff.copies.tick(utcnow() + timedelta(hours=2)) == 0


async def test_copies_older_than_48_hours_stay_on_the_members_phone(tg: Tg) -> None:
    """What docs/privacy.md admits: Telegram lets a bot delete only for 48 hours."""
    api = tg.api
    await _connected_and_talking(tg)
    api.advance(hours=49)
    await tg.say(HER, "/xoa")
    await tg.tap(HER, "X")  # "Xoá" (or "Xóa"): the only button with an X
    await tg.drain()
    assert api.holds(HOA_ID, "QX7HER")

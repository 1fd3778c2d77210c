"""The handoff through the real python-telegram-bot application talking HTTP
to the Bot API stand-in: she in her private chat, the team in its group and
the members in their private chats with the bot. The application and the
``tg`` fixture are in ``conftest.py`` (shared with ``test_telegram_desk.py``)."""

from __future__ import annotations

import time

from tests.handoff.conftest import GROUP, HER, HOA_ID, LAN_ID, Tg


async def test_handoff_through_the_real_telegram_application(tg: Tg) -> None:
    api = tg.api
    await tg.say(HER, "tôi muốn nói chuyện với người thật")
    await tg.tap(HER, "Đồng ý")
    if any("kín đáo" in label for m in api.sent_to(HER)[-1:] for label, _ in m.buttons):
        await tg.tap(HER, "bình thường")
    await tg.say(HER, "phu hung")
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

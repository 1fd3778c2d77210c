"""The console names topics, intents and areas as a team member reads them:
labels in her language and the official unit matched, never codes or free text."""

from __future__ import annotations

from typing import Any

import pytest

from bot.console.labels import UNMATCHED, relabel, shown_area, topic_label
from bot.messages import Incoming, Outgoing
from tests.bot.console.test_desk import desk_of, rt  # noqa: F401  (fixture)

pytest.importorskip("handoff.service", reason="the handoff service has not landed yet")


async def request_with_area(rt: Any, area: str, address: str) -> None:  # noqa: F811
    n = 0

    async def say(**kw: Any) -> list[Outgoing]:
        nonlocal n
        n += 1
        return await rt.engine.handle(
            Incoming(channel="web", address=address, message_id=str(n), **kw)
        )

    def press(replies: list[Outgoing], label: str) -> str:
        for m in reversed(replies):
            for b in m.buttons:
                if b.label == label:
                    return b.payload
        raise AssertionError(f"no button {label!r}")

    replies = await say(text="tôi muốn nói chuyện với người")
    replies = await say(payload=press(replies, "Đồng ý"))
    replies = await say(text=area)
    # A known ward is confirmed; an unknown answer is skipped (nothing typed is kept).
    labels = {b.label for m in replies for b in m.buttons}
    replies = await say(payload=press(replies, "Đúng rồi" if "Đúng rồi" in labels else "Bỏ qua"))
    replies = await say(payload=press(replies, "Bạo lực trong gia đình"))
    # The questions before connecting (summary, safe to talk); then the card is out.
    replies = await say(payload=press(replies, "Đồng ý chia sẻ"))
    await say(payload=press(replies, "Chỉ tin ngắn"))


async def test_queue_shows_topic_labels_and_the_matched_unit(rt: Any) -> None:  # noqa: F811
    await request_with_area(rt, "phuong phu khuong", "her-session-0000000000000011")
    await request_with_area(rt, "Lan 0912 345 678", "her-session-0000000000000012")
    desk = desk_of(rt)
    vi = (await desk.state("hoa", "vi"))["queue"]
    en = (await desk.state("hoa", "en"))["queue"]
    assert {r["topic"] for r in vi} == {"Bạo lực trong gia đình"}
    assert {r["topic"] for r in en} == {"Violence at home"}
    areas = [r["area"] for r in vi]
    assert "Phường Phú Khương, Vĩnh Long" in areas
    assert UNMATCHED["vi"] in areas
    assert "0912" not in str(vi) and "violence_home" not in str(vi)
    chat = await desk.chat("hoa", vi[0]["id"], "en")
    assert chat["topic"] == "Violence at home"


def test_labels_for_codes_and_areas() -> None:
    assert topic_label("distress", "vi") == "Đang rất bế tắc"
    assert topic_label("concern", "en") == "Worried about someone"
    assert topic_label("unknown_code", "en") == "unknown_code"
    assert relabel({"ask_services": 12, "button": 3}, "intent", "en") == {
        "Helplines": 12,
        "Button press": 3,
    }
    assert relabel({"web": 4}, "channel", "vi") == {"Trang web": 4}
    assert shown_area("Hà Nội", ["Hà Nội"], "vi") == "Hà Nội"
    assert shown_area("phuong ben tre", [], "en") == "Phường Bến Tre, Vĩnh Long"
    assert shown_area("ben tre", [], "vi") == "Vĩnh Long"  # merged into Vĩnh Long in 2025
    assert shown_area("chồng tôi tên Hùng", [], "en") == UNMATCHED["en"]
    assert shown_area("", [], "vi") == UNMATCHED["vi"]  # she skipped the question


def test_the_telegram_card_names_the_topic_in_both_languages() -> None:
    from datetime import UTC, datetime

    from handoff.texts import card, connected

    shown = card("K7Q2", "Hà Nội", "vi", "violence_home", datetime.now(UTC))
    assert "Bạo lực trong gia đình / Violence at home" in shown
    assert "violence_home" not in shown
    assert "Đang rất bế tắc / In deep distress" in connected("K7Q2", "", "vi", "distress")
    assert "Topic: —" in card("K7Q2", "", "en", None, datetime.now(UTC))

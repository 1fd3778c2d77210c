"""A whole handoff with the team on Zalo (Bot Platform), through the real
channel, the real runtime and the Zalo stand-in: she writes to the bot in
private; the card appears in the team's Zalo group as plain text; a member
takes it by writing "nhận K7Q2" there; the chat is relayed in the member's
private chat with the bot; /tip, /end. Then a team with no usable group:
cards in private, taken in private."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bot.channels.zalo.test_bot_platform import Bot, close_bot, make_bot, until
from tests.fakes.zalo_api import FakeZalo

HER = "6ede9afa66b88fe6d6a9"
GROUP = "g-91827364554637281"
HOA, LAN = "a1b2c3d4e5f6a7b8c9d0", "0f9e8d7c6b5a4f3e2d1c"
OTHER_GROUP = "g-00000000000000001"

TEAMS: dict[str, Any] = {
    "teams": [
        {
            "id": "phu-hung",
            "name": "Tổ Phú Hưng",
            "areas": ["Phú Hưng"],
            "zalo_group_id": GROUP,
            "members": [
                {"alias": "Hoa", "zalo_user_id": HOA},
                {"alias": "Lan", "zalo_user_id": LAN},
            ],
        },
        {
            "id": "ben-tre",
            "name": "Tổ Bến Tre",
            "areas": ["Bến Tre"],
            # No group usable (the bot may not be able to join one): private cards.
            "members": [{"alias": "Mai", "zalo_user_id": "m1m2m3m4m5m6m7m8m9m0"}],
        },
    ],
    "fallback_team": "ben-tre",
}


def message(
    chat: str, text: str, *, sender: str | None = None, group: bool = False
) -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": uuid.uuid4().hex,
            "from": {"id": sender or chat, "display_name": "Tên thật", "is_bot": False},
            "chat": {"id": chat, "chat_type": "GROUP" if group else "PRIVATE"},
            "date": 1750316131602,
            "text": text,
        },
    }


@pytest.fixture
async def zalo(database_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    teams = tmp_path / "teams.yml"
    teams.write_text(yaml.safe_dump(TEAMS, allow_unicode=True), encoding="utf-8")
    async with FakeZalo() as fake:
        bot = await make_bot(fake, database_url, tmp_path, teams_file=teams)
        try:
            yield bot
        finally:
            await close_bot(bot)


def to(fake: FakeZalo, chat: str) -> list[str]:
    return [m["text"] for m in fake.bot_sent if m["chat_id"] == chat]


async def say(bot: Bot, chat: str, text: str, **kw: Any) -> None:
    """One update, then wait until the bot has answered or relayed (or a second)."""
    before = len(bot.fake.bot_sent)
    bot.fake.push_update(message(chat, text, **kw))
    try:
        await until(lambda: len(bot.fake.bot_sent) > before, 5.0)
    except AssertionError:
        pass


async def answer(bot: Bot, chat: str, text: str, **kw: Any) -> str:
    before = len(to(bot.fake, chat))
    await say(bot, chat, text, **kw)
    await until(lambda: len(to(bot.fake, chat)) > before)
    return "\n".join(to(bot.fake, chat)[before:])


def option(shown: str, label: str) -> str:
    """The number of a numbered option ("2. Chỉ tin ngắn") in what was shown."""
    for line in reversed(shown.splitlines()):
        number, _, rest = line.partition(". ")
        if number.isdigit() and label in rest:
            return number
    raise AssertionError(f"no option {label!r} in {shown!r}")


async def ask_for_a_person(bot: Bot, area: str) -> str:
    shown = await answer(bot, HER, "tôi muốn nói chuyện với người thật")
    shown = await answer(bot, HER, option(shown, "Đồng ý"))
    if "kín đáo" in shown:
        shown = await answer(bot, HER, option(shown, "bình thường"))
    shown = await answer(bot, HER, area)
    shown = await answer(bot, HER, option(shown, "Đúng"))  # the place understood is right
    return await answer(bot, HER, option(shown, "Bạo lực"))


async def test_whole_handoff_with_the_team_on_zalo(zalo: Bot) -> None:
    fake = zalo.fake
    asked = await ask_for_a_person(zalo, "phu hung")
    assert "Chủ đề / Topic" in asked  # she sees what would be shared
    safe = await answer(zalo, HER, option(asked, "Đồng ý chia sẻ"))
    queued = await answer(zalo, HER, option(safe, "Chỉ tin ngắn"))
    assert "113" in queued and "Còn bao lâu" in queued
    await until(lambda: any("nhận" in t for t in to(fake, GROUP)))
    [card] = [t for t in to(fake, GROUP) if "nhận" in t]
    alias = card.split("#", 1)[1].split()[0]
    assert "short, neutral" in card and HER not in card and "Tên thật" not in card

    # Chatter in the group and messages in other groups get no answer.
    await say(zalo, GROUP, "chào cả nhà", sender=HOA, group=True)
    await say(zalo, OTHER_GROUP, f"nhận {alias}", sender=HOA, group=True)
    assert to(fake, OTHER_GROUP) == []
    took = await answer(zalo, GROUP, f"nhận {alias}", sender=HOA, group=True)
    assert "You took it" in took
    await until(lambda: any("Connected" in t for t in to(fake, HOA)))
    connected = next(t for t in to(fake, HOA) if "Connected" in t)
    assert "Keep messages short and neutral" in connected and HER not in connected
    late = await answer(zalo, GROUP, f"take {alias}", sender=LAN, group=True)
    assert "already took" in late

    await say(zalo, HER, "anh ấy vừa ra ngoài")
    await until(lambda: any("vừa ra ngoài" in t for t in to(fake, HOA)))
    assert next(t for t in to(fake, HOA) if "vừa ra ngoài" in t) == f"#{alias}: anh ấy vừa ra ngoài"
    await say(zalo, HOA, "Chị có an toàn không?")
    await until(lambda: "Tổ hỗ trợ: Chị có an toàn không?" in to(fake, HER))
    tips = await answer(zalo, HOA, "/tip")
    assert "Hotlines" in tips
    await say(zalo, HOA, "/tip 1")
    await until(lambda: to(fake, HER)[-1].startswith("Tổ hỗ trợ:") and "1900" in to(fake, HER)[-1])
    ended = await answer(zalo, HOA, "/end")
    assert "ended" in ended
    await until(lambda: any("kết thúc" in t for t in to(fake, HER)[-2:]))
    assert not any("Hoa" in t or HOA in t for t in to(fake, HER))


async def test_a_team_without_a_group_gets_cards_in_private(zalo: Bot) -> None:
    fake = zalo.fake
    mai = "m1m2m3m4m5m6m7m8m9m0"
    asked = await ask_for_a_person(zalo, "ben tre")
    safe = await answer(zalo, HER, option(asked, "Không chia sẻ"))
    await answer(zalo, HER, option(safe, "An toàn"))
    await until(lambda: any("nhận" in t for t in to(fake, mai)))
    card = next(t for t in to(fake, mai) if "nhận" in t)
    alias = card.split("#", 1)[1].split()[0]
    took = await answer(zalo, mai, f"nhận {alias}")
    assert "You took it" in took
    await until(lambda: any("Connected" in t for t in to(fake, mai)))
    off = await answer(zalo, mai, "/off")
    assert "off duty" in off

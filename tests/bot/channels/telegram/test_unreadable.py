"""Updates python-telegram-bot cannot read (recorded by other projects: a
``unique_gift`` message, a banned member without ``until_date``): acknowledged
and counted, never refused (Telegram would retry a 4xx for hours), and in
polling they neither stop the loop nor hold back the updates behind them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.telegram.updates import read_update
from tests.bot.channels.telegram.test_adapter import HER, Harness, _harness, fixture, texts
from tests.fakes.telegram_api import FakeTelegramAPI

UNREADABLE = ("unique_gift", "chat_member_banned_no_until_date")


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Harness]:
    async with FakeTelegramAPI() as api:
        async for h in _harness(api, sqlite_url, tmp_path, webhook=request.param == "webhook"):
            yield h


def unreadable_count(h: Harness) -> float:
    value = h.runtime.engine.metrics.registry.get_sample_value(
        "helpline_unreadable_updates_total", {"channel": "telegram"}
    )
    return value or 0.0


def test_ptb_really_cannot_read_them() -> None:
    """The premise: if PTB learns to read these, the fixtures still pass
    through, but this test says the workaround may be simplified."""
    from telegram import Bot, Update

    bot = Bot("123:abc")
    for name in UNREADABLE:
        with pytest.raises(TypeError):
            Update.de_json(fixture(name), bot)
    counted: list[int] = []
    update = read_update(fixture("unique_gift"), bot, lambda: counted.append(1))
    assert update.update_id == fixture("unique_gift")["update_id"] and update.message is None
    assert counted == [1]


async def test_unreadable_updates_are_acknowledged_counted_and_do_not_block(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = await bot.say(HER, "xin chào")
    assert before, "answered before"
    for name in UNREADABLE:
        status = await bot.send(bot.api.prepare(fixture(name)))
        assert status == 200, f"{name}: acknowledged, not refused"
    assert unreadable_count(bot) == len(UNREADABLE)
    after = await bot.say(HER, "xin chào")
    assert texts(after) == texts(before), "the updates behind them are answered as usual"
    if bot.mode == "polling":
        assert bot.api.pending_updates == 0, "the offset moved past them"
    for record in caplog.records:
        assert record.levelno < logging.ERROR, record.getMessage()
        assert record.exc_info is None, "no traceback"
        assert str(HER) not in record.getMessage() and "Hỏi đáp" not in record.getMessage()


async def test_caption_with_danger_words_gets_113(bot: Harness) -> None:
    before = len(bot.api.sent_to(HER))
    assert await bot.send(bot.api.prepare(fixture("photo_caption_danger"))) == 200
    replies = bot.api.sent_to(HER)[before:]
    assert replies and "113" in (replies[0].text or "")

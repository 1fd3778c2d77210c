"""Telegram under a flaky Bot API: 429 with retry_after on every fifth send and
500 on others; every reply still arrives, once, in order per chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.channels.telegram.test_adapter import Harness, _harness
from tests.fakes.telegram_api import FakeTelegramAPI

SCRIPT = [
    "xin chào",
    "toi bi ck danh",
    "tôi muốn biết quyền của mình",
    "so dien thoai ho tro",
    "cảm ơn",
]
CHATS = [7001, 7002, 7003, 7004]


async def conversation(
    api_factory: FakeTelegramAPI, database_url: str, tmp_path: Path
) -> dict[int, list[str]]:
    """Every chat plays the script (turns in order, chats in parallel); returns
    what each chat received."""
    harness: AsyncIterator[Harness] = _harness(api_factory, database_url, tmp_path, webhook=True)
    h = await anext(harness)
    try:

        async def person(chat: int) -> None:
            for text in SCRIPT:
                status = 0
                update = h.api.user_message(chat, text)
                for _ in range(5):  # Telegram redelivers what was not acknowledged
                    status = await h.send(update)
                    if status == 200:
                        break
                assert status == 200

        await asyncio.gather(*(person(c) for c in CHATS))
        return {c: [m.text or "" for m in h.api.sent_to(c)] for c in CHATS}
    finally:
        await harness.aclose()


async def test_flaky_api_loses_nothing_and_keeps_order(sqlite_url: str, tmp_path: Path) -> None:
    async with FakeTelegramAPI() as clean_api:
        expected = await conversation(clean_api, sqlite_url, tmp_path / "clean")
    async with FakeTelegramAPI() as flaky:
        flaky.fail_every("sendMessage", 5, status=429, retry_after=1)
        flaky.fail_every("sendMessage", 7, status=500)
        got = await conversation(
            flaky, f"sqlite+aiosqlite:///{tmp_path / 'flaky.db'}", tmp_path / "flaky"
        )
        failed = [c for c in flaky.calls if c.method == "sendMessage"]
    assert len(failed) > sum(len(v) for v in expected.values()), "the failures really happened"
    for chat in CHATS:
        assert got[chat] == expected[chat], f"chat {chat}: a reply was lost, repeated or reordered"


@pytest.fixture(autouse=True)
def _dirs(tmp_path: Path) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "flaky").mkdir()


async def test_a_reply_sent_again_later_is_not_overtaken_by_the_next_turn(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Her first answer fails (500) and goes to the outbox; her next message is
    answered while it still waits there: that answer must come after it."""
    async with FakeTelegramAPI() as clean_api:
        expected = await _two_turns(clean_api, sqlite_url, tmp_path / "clean", fail=False)
    async with FakeTelegramAPI() as api:
        got = await _two_turns(
            api, f"sqlite+aiosqlite:///{tmp_path / 'flaky.db'}", tmp_path / "flaky", fail=True
        )
    assert got == expected, "a reply was lost, repeated or overtaken"


async def _two_turns(
    api: FakeTelegramAPI, database_url: str, tmp_path: Path, *, fail: bool
) -> list[str]:
    chat = CHATS[0]
    harness: AsyncIterator[Harness] = _harness(api, database_url, tmp_path, webhook=True)
    h = await anext(harness)
    try:
        if fail:
            # The first answer fails, and so does the outbox's first try again.
            api.fail("sendMessage", status=500, chat_id=chat, times=4)
        assert await h.send(api.user_message(chat, "xin chào")) == 200
        assert await h.send(api.user_message(chat, "so dien thoai ho tro")) == 200
        # The outbox delivers what waited, in order, once its backoff is over.
        for _ in range(80):
            await h.worker.drain()
            if len(api.sent_to(chat)) >= 3:  # the welcome, then the two helpline texts
                break
            await asyncio.sleep(0.25)
        return [m.text or "" for m in api.sent_to(chat)]
    finally:
        await anext(harness, None)

"""Sending on the Bot Platform through the local stand-in: plain text pieces of
at most 2,000 characters, buttons as numbered options, errors for the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.channels.zalo.bot_api import ZaloBotClient
from bot.channels.zalo.bot_platform import ZaloBotSender
from bot.channels.zalo.options import OptionsStore
from bot.crypto import KeyRing
from bot.messages import Button, Outgoing
from bot.outbox import Outbox, OutboxWorker
from bot.store.db import Database
from bot.store.models import OutboxItem
from tests.fakes.zalo_api import FakeZalo

CHAT = "6ede9afa66b88fe6d6a9"


@dataclass
class Rig:
    fake: FakeZalo
    db: Database
    outbox: Outbox
    sender: ZaloBotSender


@pytest.fixture
async def rig(sqlite_url: str) -> AsyncIterator[Rig]:
    keyring = KeyRing("b" * 40)
    db = Database(sqlite_url)
    await db.upgrade()
    async with FakeZalo() as fake:
        client = ZaloBotClient(fake.bot_token, fake.bot_base_url)
        outbox = Outbox(keyring)
        sender = ZaloBotSender(client, db, outbox, OptionsStore(db, keyring, "zalo_bot"))
        try:
            yield Rig(fake, db, outbox, sender)
        finally:
            await client.close()
            await db.dispose()


async def test_long_text_is_split_within_the_limit(rig: Rig) -> None:
    text = "Bạn có quyền được bảo vệ theo Luật Phòng, chống bạo lực gia đình. " * 70
    ids = await rig.sender.send(CHAT, Outgoing(text))
    assert len(rig.fake.bot_sent) == 3 == len(ids)
    assert all(m["chat_id"] == CHAT and len(m["text"]) <= 2000 for m in rig.fake.bot_sent)
    assert " ".join(rig.fake.bot_texts) == text.strip()


async def test_buttons_become_numbered_options_answered_by_number_or_label(rig: Rig) -> None:
    buttons = [Button("Tiếng Việt", "a:lang:vi"), Button("English", "a:lang:en")]
    await rig.sender.reply(CHAT, [Outgoing("Chọn ngôn ngữ / Choose a language", buttons)])
    assert rig.fake.bot_texts == ["Chọn ngôn ngữ / Choose a language\n\n1. Tiếng Việt\n2. English"]
    assert await rig.sender.options.resolve(CHAT, "2") == "a:lang:en"
    assert await rig.sender.options.resolve(CHAT, "tieng viet") == "a:lang:vi"
    # The next reply without buttons ends them: "1" is her text again.
    await rig.sender.reply(CHAT, [Outgoing("Đã đổi.")])
    assert await rig.sender.options.resolve(CHAT, "1") is None


async def test_erase_reply_forgets_the_options(rig: Rig) -> None:
    await rig.sender.reply(CHAT, [Outgoing("Menu", [Button("Xóa", "cmd:erase")])])
    erased = Outgoing(
        "Đã xóa. Hãy xóa cuộc trò chuyện trong Zalo.", [Button("Bắt đầu", "cmd:start")]
    )
    erased.clear_history = True
    await rig.sender.reply(CHAT, [erased])
    assert rig.fake.bot_texts[-1].startswith("Đã xóa.")
    assert await rig.sender.options.resolve(CHAT, "1") is None, "nothing about her kept"


async def test_errors_become_retry_or_give_up_in_the_outbox(rig: Rig) -> None:
    worker = OutboxWorker(rig.db, rig.outbox, {"zalo_bot": rig.sender})

    async def deliver_one(chat: str, failure: int) -> str:
        async with rig.db.transaction() as s:
            item = rig.outbox.to_address(s, "zalo_bot", chat, Outgoing("tin nhắn"))
        rig.fake.fail_bot("sendMessage", failure)
        await worker.drain()
        async with rig.db.transaction() as s:
            row = await s.get(OutboxItem, item.id)
        assert row is not None
        return row.status

    assert await deliver_one(CHAT, 429) == "pending", "flood: tried again later"
    assert await deliver_one("blocked-chat", 403) == "failed", "blocked: given up"
    assert rig.fake.bot_sent == []

"""The Bot Platform channel end to end, in polling and in webhook mode: updates
from the local stand-in into the real runtime, replies back to it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import add_configured_channels, build_app
from bot.channels.zalo.bot_platform import ZaloBotChannel
from bot.channels.zalo.common import numbered
from bot.channels.zalo.options import OPTIONS_PREFIX
from bot.messages import Incoming, Outgoing
from bot.runtime import Runtime, build_runtime
from bot.store.models import KeyValue, User
from tests.conftest import make_settings
from tests.fakes.zalo_api import FakeZalo, load_event

CHAT = "6ede9afa66b88fe6d6a9"
HOOK_URL = "https://helpline.example/zalo/bot/webhook"


@dataclass
class Bot:
    fake: FakeZalo
    runtime: Runtime
    channel: ZaloBotChannel
    http: TestClient[Any, Any]


async def make_bot(fake: FakeZalo, database_url: str, tmp_path: Path, **extra: Any) -> Bot:
    settings = make_settings(
        database_url,
        tmp_path,
        zalo_bot_token=fake.bot_token,
        zalo_bot_api_base_url=fake.bot_base_url,
        zalo_bot_poll_timeout=1,
        **extra,
    )
    runtime = await build_runtime(settings)
    add_configured_channels(runtime)
    channel = next(c for c in runtime.channels if c.name == "zalo_bot")
    assert isinstance(channel, ZaloBotChannel)
    await runtime.start_background(outbox_poll=0.05)
    http: TestClient[Any, Any] = TestClient(TestServer(build_app(runtime), host="127.0.0.1"))
    await http.start_server()
    await channel.start()
    return Bot(fake, runtime, channel, http)


async def close_bot(bot: Bot) -> None:
    await bot.channel.stop()
    await bot.http.close()
    await bot.runtime.close()


@pytest.fixture
async def polling(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeZalo() as fake:
        bot = await make_bot(fake, sqlite_url, tmp_path)
        try:
            yield bot
        finally:
            await close_bot(bot)


@pytest.fixture
async def hooked(database_url: str, tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeZalo() as fake:
        bot = await make_bot(fake, database_url, tmp_path, zalo_bot_webhook_url=HOOK_URL)
        try:
            yield bot
        finally:
            await close_bot(bot)


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def reference(runtime: Runtime, *steps: dict[str, Any]) -> list[Outgoing]:
    """The engine's answer to the same steps from a new person on the web chat."""
    address = "ref-" + uuid.uuid4().hex
    replies: list[Outgoing] = []
    for step in steps:
        replies = await runtime.engine.handle(Incoming(channel="web", address=address, **step))
    return replies


def as_bot_texts(replies: list[Outgoing]) -> list[str]:
    """What the Bot Platform shows for the engine's answer: text, then the
    buttons as numbered lines (answers here are shorter than 2,000 characters)."""
    out = []
    for m in replies:
        out.append(f"{m.text}\n\n{numbered(m.buttons)}" if m.buttons else m.text)
    return [t.strip() for t in out]


def update(text: str | None = None, *, fixture: str = "bot_text") -> dict[str, Any]:
    changes: dict[str, Any] = {"message_id": uuid.uuid4().hex}
    if text is not None:
        changes["text"] = text
    return load_event(fixture, **changes)


async def test_polling_answers_like_any_channel_and_numbers_map_to_payloads(polling: Bot) -> None:
    fake = polling.fake
    fake.push_update(update("/menu"))
    menu = await reference(polling.runtime, {"payload": "cmd:menu"})
    await until(lambda: len(fake.bot_sent) >= len(menu))
    assert fake.bot_texts == as_bot_texts(menu)
    assert all(m["chat_id"] == CHAT for m in fake.bot_sent)
    buttons = next(m.buttons for m in reversed(menu) if m.buttons)
    assert len(buttons) >= 2
    fake.bot_sent.clear()
    fake.push_update(update("2"))
    chosen = await reference(
        polling.runtime, {"payload": "cmd:menu"}, {"payload": buttons[1].payload}
    )
    await until(lambda: len(fake.bot_sent) >= len(chosen))
    assert fake.bot_texts == as_bot_texts(chosen)


async def test_polling_survives_errors_skips_groups_and_answers_stickers(polling: Bot) -> None:
    fake = polling.fake
    fake.fail_bot("getUpdates", "http500")
    fake.push_update(update(fixture="bot_group_text"))
    fake.push_update(update(fixture="bot_sticker"))
    expected = await reference(polling.runtime, {"attachment": "sticker"})
    await until(lambda: len(fake.bot_sent) >= len(expected), seconds=8)
    assert fake.bot_texts == as_bot_texts(expected), "the group message got no answer"
    assert fake.bot_calls.count("getUpdates") >= 3
    assert "deleteWebhook" in fake.bot_calls and fake.webhook is None


async def test_polling_stops_cleanly(polling: Bot) -> None:
    await until(lambda: polling.fake.bot_calls.count("getUpdates") >= 2)
    await polling.channel.stop()
    calls = len(polling.fake.bot_calls)
    await asyncio.sleep(0.5)
    assert len(polling.fake.bot_calls) == calls, "no getUpdates after stop()"


async def test_webhook_mode_sets_the_hook_and_accepts_flat_and_wrapped(hooked: Bot) -> None:
    fake = hooked.fake
    assert fake.webhook is not None and fake.webhook["url"] == HOOK_URL
    secret = fake.webhook["secret_token"]
    assert "getUpdates" not in fake.bot_calls
    headers = {"X-Bot-Api-Secret-Token": secret}
    resp = await hooked.http.post("/zalo/bot/webhook", json=update("xin chào"), headers=headers)
    assert resp.status == 200
    await hooked.channel.work.wait()
    first = list(fake.bot_texts)
    assert first == as_bot_texts(await reference(hooked.runtime, {"text": "xin chào"}))
    wrapped = {"ok": True, "result": update(fixture="bot_image")}
    resp = await hooked.http.post("/zalo/bot/webhook", json=wrapped, headers=headers)
    assert resp.status == 200
    await hooked.channel.work.wait()
    assert fake.bot_texts[len(first) :], "the wrapped update was answered too"


async def test_webhook_refuses_wrong_or_missing_secret_and_bad_bodies(hooked: Bot) -> None:
    secret = hooked.fake.webhook["secret_token"] if hooked.fake.webhook else ""
    for headers in ({"X-Bot-Api-Secret-Token": secret[:-1] + "x"}, {}):
        resp = await hooked.http.post("/zalo/bot/webhook", json=update("hi"), headers=headers)
        assert resp.status == 403
    good = {"X-Bot-Api-Secret-Token": secret}
    resp = await hooked.http.post("/zalo/bot/webhook", data=b"{oops", headers=good)
    assert resp.status == 400
    resp = await hooked.http.post("/zalo/bot/webhook", json={"ok": True}, headers=good)
    assert resp.status == 400
    await hooked.channel.work.wait()
    assert hooked.fake.bot_sent == []


async def test_erase_by_number_deletes_her_rows_and_keeps_no_options(polling: Bot) -> None:
    fake = polling.fake
    ask = await reference(polling.runtime, {"payload": "cmd:erase"})
    fake.push_update(update("/erase"))
    await until(lambda: len(fake.bot_sent) >= len(ask))
    confirm = next(m.buttons for m in ask if m.buttons)
    number = next(i for i, b in enumerate(confirm, start=1) if b.payload == "a:erase")
    done = await reference(polling.runtime, {"payload": "cmd:erase"}, {"payload": "a:erase"})
    assert any(m.clear_history for m in done)
    fake.bot_sent.clear()
    fake.push_update(update(str(number)))
    await until(lambda: len(fake.bot_sent) >= len(done))
    assert fake.bot_texts == as_bot_texts(done)
    await polling.channel.work.wait()
    keyring = polling.runtime.keyring
    her_key = keyring.user_key("zalo_bot", CHAT)
    async with polling.runtime.db.transaction() as s:
        assert await s.get(User, her_key) is None, "her row is gone"
        names = list(await s.scalars(select(KeyValue.name)))
    assert not [n for n in names if n.startswith(OPTIONS_PREFIX)], "no options kept about her"


async def test_webhook_reads_captions_answers_voice_and_acknowledges_bare_events(
    hooked: Bot,
) -> None:
    fake = hooked.fake
    headers = {"X-Bot-Api-Secret-Token": fake.webhook["secret_token"] if fake.webhook else ""}

    async def post(body: dict[str, Any]) -> int:
        resp = await hooked.http.post("/zalo/bot/webhook", json=body, headers=headers)
        await hooked.channel.work.wait()
        return resp.status

    for bare in ("bot_follow", "bot_unsupported_bare", "bot_reaction"):
        assert await post(load_event(bare)) == 200, bare
    assert fake.bot_sent == [], "nothing to answer in a follow, a reaction or an empty event"

    assert await post(update(fixture="bot_image_caption")) == 200
    danger = await reference(
        hooked.runtime, {"attachment": "photo", "text": "cuu toi voi chong dang danh"}
    )
    assert fake.bot_texts == as_bot_texts(danger) and "113" in fake.bot_texts[0]

    fake.bot_sent.clear()
    assert await post(update(fixture="bot_voice")) == 200
    assert fake.bot_texts == as_bot_texts(await reference(hooked.runtime, {"attachment": "voice"}))


async def test_polling_answers_a_voice_note(polling: Bot) -> None:
    polling.fake.push_update(update(fixture="bot_voice"))
    expected = as_bot_texts(await reference(polling.runtime, {"attachment": "voice"}))
    await until(lambda: len(polling.fake.bot_sent) >= len(expected))
    assert polling.fake.bot_texts == expected

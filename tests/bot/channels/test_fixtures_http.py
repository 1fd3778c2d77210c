"""Every recorded payload in ``tests/fixtures/telegram`` and
``tests/fixtures/zalo`` through the real HTTP webhooks of one running bot
(Telegram, Zalo OA and Zalo Bot Platform together, real engine and database):
each is acknowledged cleanly, a reply arrives where a person expects one (the
113 answer where she names danger), nothing answers 500, nothing logs an
error or a traceback, and no log line carries her id.

Each payload is sent as a new person (her ids are replaced), so what one
fixture does cannot change the answer to the next. A fixture added later
without an entry in the tables below is still checked for a clean 200."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import add_configured_channels, build_app
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo.bot_platform import ZaloBotChannel
from bot.channels.zalo.oa import ZaloOAChannel
from bot.messages import Incoming
from bot.runtime import Runtime, build_runtime
from tests.conftest import free_port, make_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZalo, now_ms, oa_signature

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
OA_KEY = "oa-secret-key-fixtures"

#: The person's ids in the recorded payloads, replaced by a fresh one per payload.
TELEGRAM_HER = 555000111
ZALO_OA_HER = "2468013579246801357"
ZALO_BOT_HER = "6ede9afa66b88fe6d6a9"

REPLY, DANGER, SILENT, TEXT_ONLY = "reply", "113", "silent", "text only"

#: What she must see after each payload: a reply, the danger answer, the
#: "text only" answer (media without words), or nothing (service updates,
#: groups that are not team groups, receipts).
TELEGRAM_EXPECTED = {
    "animation": TEXT_ONLY,
    "audio": TEXT_ONLY,
    "callback": REPLY,
    "chat_member_banned_no_until_date": SILENT,
    "command_menu": REPLY,
    "contact": TEXT_ONLY,
    "dice": TEXT_ONLY,
    "document": TEXT_ONLY,
    "edited_message": SILENT,
    "forward_hidden_user": REPLY,
    "future_fields": REPLY,
    "future_update_kind": SILENT,
    "group_added": SILENT,
    "group_callback": SILENT,
    "group_message": SILENT,
    "location": TEXT_ONLY,
    "message_reaction": SILENT,
    "my_chat_member_blocked": SILENT,
    "photo": TEXT_ONLY,
    "photo_caption_danger": DANGER,
    "purchased_paid_media": SILENT,
    "start_deeplink": REPLY,
    "sticker": TEXT_ONLY,
    "story_in_group": SILENT,
    "team_command": SILENT,
    "text": REPLY,
    "unique_gift": SILENT,
    "video": TEXT_ONLY,
    "video_note": TEXT_ONLY,
    "voice": TEXT_ONLY,
}
ZALO_EXPECTED = {
    "bot_follow": SILENT,
    "bot_group_text": SILENT,
    "bot_image": TEXT_ONLY,
    "bot_image_caption": DANGER,
    "bot_reaction": SILENT,
    "bot_sticker": TEXT_ONLY,
    "bot_text": REPLY,
    "bot_unsupported": TEXT_ONLY,
    "bot_unsupported_bare": SILENT,
    "bot_voice": TEXT_ONLY,
    "oa_anonymous_send_text": SILENT,
    "oa_follow": SILENT,
    "oa_unfollow": SILENT,
    "oa_user_seen_message": SILENT,
    "oa_user_send_audio": TEXT_ONLY,
    "oa_user_send_file": TEXT_ONLY,
    "oa_user_send_gif": TEXT_ONLY,
    "oa_user_send_image": TEXT_ONLY,
    "oa_user_send_image_caption": DANGER,
    "oa_user_send_link": TEXT_ONLY,
    "oa_user_send_location": TEXT_ONLY,
    "oa_user_send_sticker": TEXT_ONLY,
    "oa_user_send_text": REPLY,
    "oa_user_send_video": TEXT_ONLY,
    "oa_user_withdraw": SILENT,  # erases her like /xoa, answers nothing
}


def names(platform: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / platform).glob("*.json"))


def load(platform: str, name: str) -> Any:
    return json.loads((FIXTURES / platform / f"{name}.json").read_text(encoding="utf-8"))


def replace(data: Any, old: Any, new: Any) -> Any:
    """``data`` with every value equal to ``old`` replaced by ``new``."""
    if isinstance(data, dict):
        return {k: replace(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [replace(v, old, new) for v in data]
    return new if data == old else data


@dataclass
class Everything:
    runtime: Runtime
    url: str
    telegram_api: FakeTelegramAPI
    zalo: FakeZalo
    telegram: TelegramChannel
    oa: ZaloOAChannel
    zalo_bot: ZaloBotChannel


@pytest.fixture
async def everything(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Everything]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with FakeTelegramAPI() as tg, FakeZalo() as zalo:
        access, refresh = zalo.issue_pair()
        settings = make_settings(
            sqlite_url,
            tmp_path,
            http_port=port,
            telegram_bot_token=tg.token,
            telegram_api_base_url=tg.base_url,
            telegram_webhook_url=f"{url}/telegram/webhook",
            zalo_app_id=zalo.app_id,
            zalo_app_secret=zalo.app_secret,
            zalo_oa_secret_key=OA_KEY,
            zalo_oa_access_token=access,
            zalo_oa_refresh_token=refresh,
            zalo_oa_api_base_url=zalo.url,
            zalo_oauth_base_url=zalo.url,
            zalo_bot_token=zalo.bot_token,
            zalo_bot_api_base_url=zalo.bot_base_url,
            zalo_bot_webhook_url=f"{url}/zalo/bot/webhook",
        )
        runtime = await build_runtime(settings)
        add_configured_channels(runtime)
        channels = {c.name: c for c in runtime.channels}
        telegram, oa, bot = channels["telegram"], channels["zalo_oa"], channels["zalo_bot"]
        assert isinstance(telegram, TelegramChannel)
        assert isinstance(oa, ZaloOAChannel) and isinstance(bot, ZaloBotChannel)
        await runtime.start_background(outbox_poll=0.05)
        runner = web.AppRunner(build_app(runtime), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        for channel in (telegram, oa, bot):
            await channel.start()
        try:
            yield Everything(runtime, url, tg, zalo, telegram, oa, bot)
        finally:
            for channel in (telegram, oa, bot):
                await channel.stop()
            await runner.cleanup()
            await runtime.close()


def check_logs(caplog: pytest.LogCaptureFixture, ids: list[str]) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert record.levelno < logging.ERROR, f"{record.name}: {message}"
        assert record.exc_info is None, f"traceback logged by {record.name}"
        if record.name.startswith(("bot", "handoff", "nlu", "responses", "telegram")):
            for value in ids:
                assert value not in message, f"an id in the log: {message}"


@dataclass(frozen=True)
class Answers:
    """First lines of two answers, as the engine gives them on any channel."""

    danger: str
    text_only: str


async def answers(runtime: Runtime) -> Answers:
    async def first_line(**what: Any) -> str:
        incoming = Incoming(channel="web", address=uuid.uuid4().hex, **what)
        replies = await runtime.engine.handle(incoming)
        assert replies
        return replies[0].text.split("\n")[0]

    danger = await first_line(text="cuu toi voi chong dang danh")
    assert "113" in danger
    return Answers(danger, await first_line(attachment="photo"))


def expect(table: dict[str, str], name: str, texts: list[str], answers: Answers) -> None:
    wanted = table.get(name)
    if wanted == SILENT:
        assert texts == [], f"{name}: nothing was expected, got {len(texts)} messages"
        return
    if wanted is None:
        return
    assert texts, f"{name}: she got no answer"
    first = texts[0]
    if wanted == DANGER:
        assert first.startswith(answers.danger), f"{name}: the danger answer must come first"
        return
    assert not first.startswith(answers.danger), f"{name}: a false alarm"
    if wanted == TEXT_ONLY:
        assert first.startswith(answers.text_only), f"{name}: not the text-only answer"
    else:
        assert not first.startswith(answers.text_only), f"{name}: her words were not read"


def test_every_fixture_has_an_expectation() -> None:
    """A fixture without an entry is still checked (200, clean logs); this
    test lists the ones whose answer nobody has written down yet."""
    missing = [n for n in names("telegram") if n not in TELEGRAM_EXPECTED]
    missing += [n for n in names("zalo") if n not in ZALO_EXPECTED]
    assert not missing, f"add the expected answer for {missing}"
    assert set(TELEGRAM_EXPECTED) <= set(names("telegram"))
    assert set(ZALO_EXPECTED) <= set(names("zalo"))


async def test_every_telegram_fixture_through_the_webhook(
    everything: Everything, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    api = everything.telegram_api
    expected = await answers(everything.runtime)
    fresh = count(555100000)
    ids: list[str] = []
    for name in names("telegram"):
        chat = next(fresh)
        ids.append(str(chat))
        update = api.prepare(replace(load("telegram", name), TELEGRAM_HER, chat))
        status = await api.deliver_webhook(update)
        assert status == 200, f"{name}: {status}"
        expect(TELEGRAM_EXPECTED, name, [m.text or "" for m in api.sent_to(chat)], expected)
    check_logs(caplog, ids)


async def test_every_zalo_fixture_through_the_webhooks(
    everything: Everything, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    zalo = everything.zalo
    assert zalo.webhook is not None, "the Bot Platform webhook was set"
    expected = await answers(everything.runtime)
    ids: list[str] = []
    async with aiohttp.ClientSession() as http:
        for name in names("zalo"):
            person = uuid.uuid4().hex[:20]
            ids.append(person)
            if name.startswith("oa_"):
                data = replace(load("zalo", name), ZALO_OA_HER, person)
                if isinstance(data.get("message"), dict) and "msg_id" in data["message"]:
                    data["message"]["msg_id"] = uuid.uuid4().hex
                data["timestamp"] = now_ms()
                body = json.dumps(data, ensure_ascii=False).encode()
                sig = oa_signature(zalo.app_id, body, data["timestamp"], OA_KEY)
                headers = {"X-ZEvent-Signature": sig, "Content-Type": "application/json"}
                route, work = "/zalo/oa/webhook", everything.oa.work
                before = len(zalo.oa_sent)
            else:
                data = replace(load("zalo", name), ZALO_BOT_HER, person)
                body = json.dumps(data, ensure_ascii=False).encode()
                headers = {
                    "X-Bot-Api-Secret-Token": zalo.webhook["secret_token"],
                    "Content-Type": "application/json",
                }
                route, work = "/zalo/bot/webhook", everything.zalo_bot.work
                before = len(zalo.bot_sent)
            async with http.post(everything.url + route, data=body, headers=headers) as resp:
                assert resp.status == 200, f"{name}: {resp.status}"
            await work.wait()
            if name.startswith("oa_"):
                texts = [m.text for m in zalo.oa_sent[before:] if m.user_id == person]
            else:
                texts = [m["text"] for m in zalo.bot_sent[before:] if m["chat_id"] == person]
            expect(ZALO_EXPECTED, name, texts, expected)
    check_logs(caplog, ids)

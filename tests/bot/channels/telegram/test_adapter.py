"""The Telegram channel end to end: the real python-telegram-bot application,
the real runtime (NLU, flows, database, outbox) and the aiohttp app, talking
HTTP to the Bot API stand-in on 127.0.0.1 — by long polling and by webhook."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.app import add_configured_channels, build_app
from bot.channels.telegram import TelegramChannel, webhook_secret
from bot.messages import Button, Outgoing
from bot.outbox import OutboxWorker
from bot.runtime import Runtime, build_runtime
from bot.store import users as user_store
from bot.store.db import Database
from bot.store.models import MessageRef, OutboxItem, User
from tests.conftest import SECRET, free_port, make_settings
from tests.fakes.telegram_api import ChatMessage, FakeTelegramAPI

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "telegram"
HER = 555000111
#: Words that must never show on a lock screen or stay behind after erase.
SENSITIVE = ("bạo lực", "bao luc", "violence", "abuse", "chồng", "đánh", "113", "công an")


def fixture(name: str, chat_id: int = HER) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    for key in ("message", "edited_message"):
        if key in data and data[key]["chat"]["type"] == "private":
            data[key]["chat"]["id"] = chat_id
            data[key]["from"]["id"] = chat_id
    return data


@dataclass
class Harness:
    api: FakeTelegramAPI
    runtime: Runtime
    channel: TelegramChannel
    worker: OutboxWorker
    url: str

    @property
    def mode(self) -> str:
        return self.channel.mode

    async def send(self, update: dict[str, Any]) -> int:
        """Deliver an update the way the mode does and wait until it is handled.
        Returns the webhook's HTTP status (200 when polling)."""
        if self.mode == "webhook":
            return await self.api.deliver_webhook(update)
        await self.api.push_update(update)
        await self.settle()
        return 200

    async def settle(self) -> None:
        await self.api.wait_until(lambda: self.api.pending_updates == 0)
        await asyncio.wait_for(self.channel.wait_idle(), timeout=10)

    async def say(self, chat_id: int, text: str) -> list[ChatMessage]:
        """She writes; returns the messages the bot sent back."""
        before = len(self.api.sent_to(chat_id))
        await self.send(self.api.user_message(chat_id, text))
        return self.api.sent_to(chat_id)[before:]

    async def tap(self, chat_id: int, message: ChatMessage, payload: str) -> list[ChatMessage]:
        before = len(self.api.sent_to(chat_id))
        await self.send(self.api.press(chat_id, message.message_id, payload))
        return self.api.sent_to(chat_id)[before:]

    async def rows(self, model: Any, chat_id: int) -> int:
        key = self.runtime.keyring.user_key("telegram", str(chat_id))
        column = {
            User: User.key,
            MessageRef: MessageRef.user_key,
            OutboxItem: OutboxItem.recipient,
        }[model]
        async with self.runtime.db.transaction() as s:
            return int(await s.scalar(select(func.count()).where(column == key)) or 0)


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


async def _harness(
    api: FakeTelegramAPI, database_url: str, tmp_path: Path, *, webhook: bool
) -> AsyncIterator[Harness]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        tmp_path,
        http_port=port,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        telegram_webhook_url=f"{url}/telegram/webhook" if webhook else None,
    )
    runtime = await build_runtime(settings)
    add_configured_channels(runtime)
    channel = next(c for c in runtime.channels if isinstance(c, TelegramChannel))
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await channel.start()
    worker = OutboxWorker(runtime.db, runtime.outbox, runtime.senders)
    try:
        yield Harness(api, runtime, channel, worker, url)
    finally:
        await channel.stop()
        await runner.cleanup()
        await runtime.close()


@pytest.fixture
async def polling(api: FakeTelegramAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(api, sqlite_url, tmp_path, webhook=False):
        yield h


@pytest.fixture
async def webhook(api: FakeTelegramAPI, sqlite_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(api, sqlite_url, tmp_path, webhook=True):
        yield h


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest, api: FakeTelegramAPI, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Harness]:
    """Both start modes, on SQLite."""
    async for h in _harness(api, sqlite_url, tmp_path, webhook=request.param == "webhook"):
        yield h


@pytest.fixture
async def bot_db(api: FakeTelegramAPI, database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    """Polling, on SQLite and on PostgreSQL: for tests where the database matters."""
    async for h in _harness(api, database_url, tmp_path, webhook=False):
        yield h


def texts(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text or "" for m in messages)


# -- start-up -----------------------------------------------------------------


async def test_polling_start_connects_registers_commands_and_polls(polling: Harness) -> None:
    methods = [c.method for c in polling.api.calls]
    assert methods[0] == "getMe"
    assert "deleteWebhook" in methods and "setWebhook" not in methods
    await polling.api.wait_for_call("getUpdates")
    vi = dict(polling.api.commands["vi"])
    en = dict(polling.api.commands["en"])
    assert {"start", "menu", "help", "stop", "lang", "xoa", "privacy"} <= set(vi)
    assert {"start", "menu", "help", "stop", "lang", "erase", "privacy"} <= set(en)
    assert polling.api.commands[""] == polling.api.commands["vi"], "default menu in Vietnamese"


async def test_webhook_start_sets_a_secret_webhook_and_never_polls(webhook: Harness) -> None:
    assert webhook.api.webhook is not None
    assert webhook.api.webhook["url"] == f"{webhook.url}/telegram/webhook"
    secret = webhook.api.webhook["secret_token"]
    assert secret == webhook_secret(SECRET) and len(secret) >= 32
    assert "callback_query" in webhook.api.webhook["allowed_updates"]
    await asyncio.sleep(0.2)
    assert not webhook.api.calls_to("getUpdates")


# -- conversation ---------------------------------------------------------------


async def test_start_welcomes_with_menu_buttons_and_button_round_trip(bot: Harness) -> None:
    welcome = await bot.say(HER, "/start")
    assert welcome and welcome[-1].buttons, "the welcome offers the menu as buttons"
    card = welcome[-1]
    payload = card.payloads[0]
    assert len(payload.encode()) <= 64
    answer = await bot.tap(HER, card, payload)
    assert answer, "a button press is answered"
    assert texts(answer) != texts(welcome)
    pressed = bot.api.calls_to("answerCallbackQuery")
    assert len(pressed) == 1, "the spinner on her button is stopped exactly once"


async def test_start_with_deep_link_parameter_is_welcomed_too(polling: Harness) -> None:
    plain = await polling.say(HER, "/start")
    linked = await polling.say(HER + 1, "/start poster_hanoi")
    assert linked and texts(linked) == texts(plain)


@pytest.mark.parametrize("command", ["/menu", "/help", "/stop", "/lang", "/privacy"])
async def test_each_command_is_answered(polling: Harness, command: str) -> None:
    await polling.say(HER, "/start")
    answer = await polling.say(HER, command)
    assert answer and texts(answer).strip()


async def test_stale_button_is_answered_not_crashed(polling: Harness) -> None:
    welcome = await polling.say(HER, "/start")
    answer = await polling.tap(HER, welcome[-1], "n:no_such_node_any_more")
    assert answer and answer[-1].buttons, "expired option: a note and the menu again"
    assert len(polling.api.calls_to("answerCallbackQuery")) == 1


async def test_every_non_text_kind_gets_an_answer(polling: Harness) -> None:
    kinds = [
        "sticker",
        "photo",
        "voice",
        "audio",
        "video",
        "video_note",
        "document",
        "animation",
        "location",
        "contact",
    ]
    for kind in kinds:
        before = len(polling.api.sent_to(HER))
        await polling.send(polling.api.prepare(fixture(kind)))
        answer = polling.api.sent_to(HER)[before:]
        assert answer, f"{kind} got no answer"
        assert any(m.buttons for m in answer), f"{kind}: the menu is offered"


async def test_edited_message_is_ignored_politely(bot: Harness) -> None:
    await bot.say(HER, "xin chào")
    before = len(bot.api.sent_to(HER))
    status = await bot.send(bot.api.prepare(fixture("edited_message")))
    assert status == 200 and len(bot.api.sent_to(HER)) == before
    assert await bot.say(HER, "/menu"), "and the bot goes on answering"


async def test_long_text_from_her_is_answered(polling: Harness) -> None:
    answer = await polling.say(HER, "xin chào " * 1500)
    assert answer


async def test_group_that_is_not_a_team_group_is_left_without_a_word(bot: Harness) -> None:
    group = fixture("group_message")
    group_id = group["message"]["chat"]["id"]
    assert await bot.send(group) == 200
    added = fixture("group_added")
    await bot.send(added)
    assert bot.api.left_chats == [group_id, group_id]
    assert bot.api.sent_to(group_id) == []
    assert await bot.rows(User, group_id) == 0, "no conversation was started for the group"


async def test_team_group_updates_reach_the_engine(polling: Harness) -> None:
    """A team group is not left: its messages and button presses go to the
    engine (where handoff takes them) and whatever comes back is shown there."""
    team = -1009876543210

    async def team_groups() -> set[str]:
        return {str(team)}

    polling.channel.team_groups = team_groups
    command = fixture("team_command")
    await polling.send(polling.api.prepare(command))
    assert polling.api.left_chats == []
    shown = polling.api.sent_to(team)
    assert shown, "the answer is rendered in the group"
    await polling.send(polling.api.press(team, shown[-1].message_id, "cmd:menu", user_id=777000222))
    assert polling.api.left_chats == []
    assert len(polling.api.callback_answers) == 1


# -- reliability ----------------------------------------------------------------


async def test_redelivered_webhook_update_is_answered_once(webhook: Harness) -> None:
    update = webhook.api.user_message(HER, "xin chào")
    assert await webhook.send(update) == 200
    first = len(webhook.api.sent_to(HER))
    assert first >= 1
    assert await webhook.send(update) == 200, "a redelivery is acknowledged..."
    assert len(webhook.api.sent_to(HER)) == first, "...but not answered again"


async def test_same_message_seen_again_by_polling_is_answered_once(bot_db: Harness) -> None:
    update = bot_db.api.user_message(HER, "xin chào")
    again = json.loads(json.dumps(update))
    await bot_db.send(update)
    first = len(bot_db.api.sent_to(HER))
    again.pop("update_id")  # another process fetched it again after a restart
    await bot_db.send(again)
    assert first >= 1 and len(bot_db.api.sent_to(HER)) == first


async def test_forged_webhook_secret_is_refused_and_nothing_happens(webhook: Harness) -> None:
    update = webhook.api.user_message(HER, "xin chào")
    assert await webhook.api.deliver_webhook(update, secret="not-the-secret") == 403
    async with aiohttp.ClientSession() as s:
        resp = await s.post(f"{webhook.url}/telegram/webhook", json=update)
        assert resp.status == 403, "no header at all"
    assert webhook.api.sent_to(HER) == []
    assert await webhook.rows(User, HER) == 0
    assert await webhook.send(update) == 200 and webhook.api.sent_to(HER)


async def test_malformed_webhook_body_is_rejected(webhook: Harness) -> None:
    secret = webhook_secret(SECRET)
    async with aiohttp.ClientSession() as s:
        resp = await s.post(
            f"{webhook.url}/telegram/webhook",
            data=b"{not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        )
        assert resp.status == 400


async def test_webhook_answers_500_while_the_database_is_down_then_200(webhook: Harness) -> None:
    engine = webhook.runtime.engine
    healthy = engine.db
    engine.db = Database("postgresql+asyncpg://postgres@127.0.0.1:1/down")
    update = webhook.api.user_message(HER, "xin chào")
    try:
        assert await webhook.send(update) == 500, "not acknowledged: Telegram will redeliver"
        assert webhook.api.sent_to(HER) == []
    finally:
        await engine.db.dispose()
        engine.db = healthy
    assert await webhook.send(update) == 200
    assert len(webhook.api.sent_to(HER)) >= 1


async def test_polling_keeps_an_update_while_the_database_is_down(polling: Harness) -> None:
    engine = polling.runtime.engine
    healthy = engine.db
    engine.db = Database("postgresql+asyncpg://postgres@127.0.0.1:1/down")
    try:
        await polling.api.push_update(polling.api.user_message(HER, "xin chào"))
        await polling.api.wait_until(lambda: polling.api.pending_updates == 0)
        await asyncio.sleep(0.3)
        assert polling.api.sent_to(HER) == []
    finally:
        await engine.db.dispose()
        engine.db = healthy
    await polling.api.wait_for_messages(HER, 1, timeout=5)


async def test_flood_wait_is_respected_then_the_reply_arrives(polling: Harness) -> None:
    polling.api.fail("sendMessage", status=429, retry_after=1)
    answer = await polling.say(HER, "/start")
    assert answer, "the reply arrives after the wait"
    tries = polling.api.calls_to("sendMessage")
    assert tries[1].at - tries[0].at >= 1.0, "the bot waited retry_after before trying again"


async def test_a_reply_that_cannot_be_sent_now_goes_to_the_outbox_in_order(
    polling: Harness,
) -> None:
    """The shared rule for a failed direct reply: a server error that outlasts
    the quick retries hands this reply and the ones after it to the outbox."""
    polling.api.fail("sendMessage", status=500, times=3)
    assert await polling.say(HER, "/start") == []
    assert await polling.rows(OutboxItem, HER) >= 1, "kept for the outbox, not dropped"
    await polling.worker.drain()
    welcome = polling.api.sent_to(HER)
    assert welcome and welcome[-1].buttons, "the whole welcome arrives, menu last"


async def test_a_reply_to_someone_who_blocked_the_bot_is_not_queued(polling: Harness) -> None:
    polling.api.block(HER)
    await polling.say(HER, "/start")
    assert await polling.rows(OutboxItem, HER) == 0, "no retries towards a blocked chat"


# -- outbox (team replies, notices) --------------------------------------------------


async def _queue_for_her(h: Harness, chat_id: int, message: Outgoing, *, discreet: bool) -> None:
    async with h.runtime.db.transaction() as s:
        user, _ = await user_store.load_user(
            s, h.runtime.db, h.runtime.keyring, "telegram", str(chat_id), user_store_now()
        )
        user.discreet = discreet
        h.runtime.outbox.to_user(s, user, message)


def user_store_now() -> Any:
    from bot.messages import utcnow

    return utcnow()


async def test_discreet_delivery_is_silent_with_a_neutral_first_line(bot_db: Harness) -> None:
    await bot_db.say(HER, "/start")
    before = len(bot_db.api.sent_to(HER))
    text = "Chị ơi, cán bộ hỗ trợ đã trả lời: chị có an toàn không?"
    await _queue_for_her(bot_db, HER, Outgoing(text, protect=True), discreet=True)
    assert await bot_db.worker.drain() == 1
    [delivered] = bot_db.api.sent_to(HER)[before:]
    assert delivered.silent, "no sound"
    assert delivered.protected, "no forwarding or saving"
    first = (delivered.text or "").split("\n")[0]
    assert first == "Tin nhắn mới"
    assert not any(word in first.lower() for word in SENSITIVE)
    assert (delivered.text or "").endswith(text)


async def test_not_discreet_outbox_message_rings_normally(polling: Harness) -> None:
    await _queue_for_her(polling, HER, Outgoing("Xin chào"), discreet=False)
    await polling.worker.drain()
    [delivered] = polling.api.sent_to(HER)
    assert not delivered.silent and delivered.text == "Xin chào"


async def test_blocked_bot_marks_the_outbox_row_failed_without_retries(bot_db: Harness) -> None:
    bot_db.api.block(HER)
    await _queue_for_her(bot_db, HER, Outgoing("Tin từ đội hỗ trợ"), discreet=False)
    await bot_db.worker.drain()
    await bot_db.worker.drain()
    async with bot_db.runtime.db.transaction() as s:
        row = await s.scalar(select(OutboxItem))
        assert row is not None and row.status == "failed" and row.attempts == 1
    assert len(bot_db.api.calls_to("sendMessage")) == 1, "no retry storm"


async def test_outbox_flood_wait_beyond_retries_is_rescheduled(polling: Harness) -> None:
    polling.api.fail("sendMessage", status=429, retry_after=1, times=3)
    await _queue_for_her(polling, HER, Outgoing("Tin từ đội hỗ trợ"), discreet=False)
    await polling.worker.drain()
    async with polling.runtime.db.transaction() as s:
        row = await s.scalar(select(OutboxItem))
        assert row is not None and row.status == "pending", "kept for later, not given up"
        assert row.last_error == "throttled: telegram flood control"
    await asyncio.sleep(1.1)
    await polling.worker.drain()
    assert [m.text for m in polling.api.sent_to(HER)] == ["Tin từ đội hỗ trợ"]


async def test_text_over_4096_is_split_on_sentences_with_buttons_last(polling: Harness) -> None:
    long = "Chị có quyền được bảo vệ và giữ bí mật. " * 250  # about 10 000 characters
    await _queue_for_her(polling, HER, Outgoing(long, [Button("Menu", "cmd:menu")]), discreet=False)
    await polling.worker.drain()
    parts = polling.api.sent_to(HER)
    assert len(parts) == 3
    assert all(len(p.text or "") <= 4096 for p in parts)
    assert all((p.text or "").endswith("bí mật.") for p in parts)
    assert [bool(p.buttons) for p in parts] == [False, False, True]


async def test_sender_reaches_a_group_and_edits_a_card(polling: Harness) -> None:
    sender = polling.channel.sender
    group = -1009876543210
    [card] = await sender.send(str(group), Outgoing("#K7Q2", [Button("Nhận", "h:claim:1")]))
    edited = await sender.send(str(group), Outgoing("#K7Q2 ✓", edit_of=card))
    assert edited == [card]
    shown = polling.api.history(group)
    assert [m.text for m in shown] == ["#K7Q2 ✓"] and shown[0].buttons == []
    alert = await sender.send(str(group), Outgoing("Đã có người nhận", alert=True))
    assert alert and polling.api.history(group)[-1].text == "Đã có người nhận"


# -- erase ------------------------------------------------------------------------


async def test_erase_deletes_both_sides_of_the_chat_and_every_row(bot_db: Harness) -> None:
    h = bot_db
    await h.say(HER, "/start")
    for i in range(55):  # more than 100 messages in her chat
        await h.say(HER, f"cho toi hoi {i}")
    welcome = await h.say(HER, "/menu")
    await h.tap(HER, welcome[-1], welcome[-1].payloads[0])
    assert len(h.api.history(HER)) > 110
    confirm = await h.say(HER, "/xoa")
    assert confirm and confirm[-1].buttons, "erase asks for one confirming press"
    yes = erase_confirm_payload(confirm[-1])
    started = time.monotonic()
    await h.tap(HER, confirm[-1], yes)
    assert time.monotonic() - started < 10

    batches = h.api.calls_to("deleteMessages")
    assert len(batches) >= 2 and all(1 <= len(c.params["message_ids"]) <= 100 for c in batches)
    left = h.api.history(HER)
    assert len(left) == 1 and left[0].from_bot, "only the bot's last neutral line is left"
    assert not any(w in (left[0].text or "").lower() for w in SENSITIVE)
    assert [label for label, _ in left[0].buttons] == ["Menu"], "only a neutral button is left"
    for model in (User, MessageRef, OutboxItem):
        assert await h.rows(model, HER) == 0, f"{model.__tablename__} still has rows about her"


def erase_confirm_payload(message: ChatMessage) -> str:
    """The confirming button of the erase question (the runner's ``a:erase``)."""
    assert "a:erase" in message.payloads, message.payloads
    return "a:erase"

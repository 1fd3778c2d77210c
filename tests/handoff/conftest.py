"""Handoff test harness: the real service on a real database (SQLite and
PostgreSQL), the real outbox and its worker, and recording channel senders
standing in for the platforms (they record what would reach each chat)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import add_configured_channels, build_app
from bot.channels.telegram import TelegramChannel
from bot.crypto import KeyRing
from bot.interfaces import Action, ActionCall, DeliveryError
from bot.messages import Incoming, Outgoing
from bot.outbox import Outbox, OutboxWorker
from bot.runtime import Runtime, build_runtime
from bot.store import users as user_store
from bot.store.db import Database
from handoff.service import HandoffService
from handoff.teams import TeamsConfig, parse_teams
from tests.conftest import SECRET, free_port, make_settings
from tests.fakes.telegram_api import ChatMessage, FakeTelegramAPI

GROUP_A = "-1001000000001"
GROUP_B = "-1001000000002"
HOA, LAN, MAI, OUTSIDER = "5001", "5002", "6001", "9999"

TEAMS: dict[str, Any] = {
    "teams": [
        {
            "id": "phu-hung",
            "name": "Tổ phản ứng nhanh xã Phú Hưng",
            "areas": ["Phú Hưng"],
            "telegram_group_id": int(GROUP_A),
            "contacts": ["Công an xã: 0275 000 000"],
            "members": [
                {"telegram_user_id": int(HOA), "alias": "Hoa"},
                {"telegram_user_id": int(LAN), "alias": "Lan"},
            ],
        },
        {
            "id": "ben-tre",
            "name": "Tổ tỉnh Bến Tre",
            "areas": ["Bến Tre", "Phú Khương"],
            "telegram_group_id": int(GROUP_B),
            "hours": "07:00-21:00",
            "members": [{"telegram_user_id": int(MAI), "alias": "Mai"}],
        },
    ],
    "fallback_team": "ben-tre",
    "claim_timeout_minutes": 10,
    "idle_reminder_minutes": 30,
    # The questions before connecting have their own tests (test_desk.py).
    "ask_before_connecting": False,
}


@dataclass
class Sent:
    address: str
    message: Outgoing
    ids: list[str]


@dataclass
class RecordingSender:
    """A channel that records deliveries and returns platform message ids;
    ``fail`` maps an address to a DeliveryError to raise instead."""

    channel: str
    sent: list[Sent] = field(default_factory=list)
    fail: dict[str, DeliveryError] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1000))

    async def send(self, address: str, message: Outgoing) -> list[str]:
        if address in self.fail:
            raise self.fail[address]
        mid = message.edit_of or str(next(self._ids))
        self.sent.append(Sent(address, message, [mid]))
        return [mid]

    def to(self, address: str) -> list[Sent]:
        return [s for s in self.sent if s.address == address]

    def texts_to(self, address: str) -> list[str]:
        return [s.message.text for s in self.to(address)]


class Clock:
    """Time that tests move by hand. Noon in Viet Nam by default (team hours open)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


class Harness:
    """The service as the engine would drive it, with users created the way
    the engine creates them (``load_user``) and a real outbox worker."""

    def __init__(self, db: Database, config: TeamsConfig) -> None:
        self.db = db
        self.keyring = KeyRing(SECRET)
        self.outbox = Outbox(self.keyring)
        self.clock = Clock()
        self.service = HandoffService(config, db, self.keyring, self.outbox, None, clock=self.clock)
        self.telegram = RecordingSender("telegram")
        self.web = RecordingSender("web")
        self.worker = OutboxWorker(
            db,
            self.outbox,
            {"telegram": self.telegram, "web": self.web},
            on_undeliverable=self.service.on_undeliverable,
            on_delivered=self.service.on_delivered,
        )
        self._n = itertools.count(1)

    async def user_action(
        self, address: str, name: str, args: dict[str, Any] | None = None, channel: str = "web"
    ) -> list[Outgoing]:
        async with self.db.transaction() as s:
            user, _ = await user_store.load_user(
                s, self.db, self.keyring, channel, address, self.clock()
            )
            return await self.service.on_action(s, user, ActionCall(Action(name), args or {}))

    async def user_says(
        self,
        address: str,
        text: str | None,
        *,
        intent: str | None = None,
        attachment: str | None = None,
        channel: str = "web",
    ) -> list[Outgoing]:
        async with self.db.transaction() as s:
            user, _ = await user_store.load_user(
                s, self.db, self.keyring, channel, address, self.clock()
            )
            assert await self.service.is_active(s, user)
            return await self.service.relay_from_user(
                s, user, Incoming(channel, address, text=text, attachment=attachment), intent
            )

    async def start(
        self, address: str, area: str | None = "Phú Hưng", topic: str | None = "violence"
    ) -> list[Outgoing]:
        await self.user_action(
            address, "consent", {"node": "consent", "version": "abc123", "language": "vi"}
        )
        return await self.user_action(address, "start_handoff", {"area": area, "topic": topic})

    async def member(
        self, member_id: str, text: str | None = None, **kw: Any
    ) -> list[Outgoing] | None:
        return await self.service.handle_team(
            Incoming("telegram", member_id, message_id=f"pm{next(self._n)}", text=text, **kw)
        )

    async def press_take(
        self, group: str, member_id: str, request_id: int, card_mid: str | None = None
    ) -> list[Outgoing] | None:
        return await self.service.handle_team(
            Incoming(
                "telegram",
                group,
                message_id=f"cb{next(self._n)}",
                payload=f"ho:take:{request_id}",
                sender_id=member_id,
                button_message_id=card_mid,
            )
        )

    async def drain(self) -> int:
        return await self.worker.drain()

    def card(self, group: str) -> Sent:
        cards = [s for s in self.telegram.to(group) if s.message.buttons]
        assert cards, f"no card in {group}"
        return cards[-1]

    @staticmethod
    def request_id(card: Sent) -> int:
        return int(card.message.buttons[0].payload.rsplit(":", 1)[1])


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    db = Database(database_url)
    await db.upgrade()
    try:
        yield Harness(db, parse_teams(TEAMS))
    finally:
        await db.dispose()


@pytest.fixture
def teams_file(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "teams.yml"
    path.write_text(yaml.safe_dump(TEAMS, allow_unicode=True), encoding="utf-8")
    return path


# ---- the real python-telegram-bot application against the Bot API stand-in ----

HER = 555000111
GROUP, HOA_ID, LAN_ID = int(GROUP_A), int(HOA), int(LAN)


class Tg:
    def __init__(self, api: FakeTelegramAPI, runtime: Runtime, channel: TelegramChannel) -> None:
        self.api = api
        self.rt = runtime
        self.channel = channel
        self.worker = OutboxWorker(
            runtime.db,
            runtime.outbox,
            runtime.senders,
            on_undeliverable=runtime.engine.handoff.on_undeliverable,  # type: ignore[union-attr]
            on_delivered=runtime.engine.handoff.on_delivered,  # type: ignore[union-attr]
        )

    async def push(self, *updates: dict[str, Any]) -> None:
        for update in updates:
            await self.api.push_update(update)
        await self.api.wait_until(lambda: self.api.pending_updates == 0)
        await asyncio.wait_for(self.channel.wait_idle(), timeout=10)

    async def say(self, chat: int, text: str, **content: Any) -> list[ChatMessage]:
        before = len(self.api.sent_to(chat))
        await self.push(self.api.user_message(chat, text, **content))
        return self.api.sent_to(chat)[before:]

    async def tap(self, chat: int, label_part: str) -> list[ChatMessage]:
        shown = next(
            m
            for m in reversed(self.api.sent_to(chat))
            if any(label_part.lower() in b[0].lower() for b in m.buttons)
        )
        payload = next(d for label, d in shown.buttons if label_part.lower() in label.lower())
        before = len(self.api.sent_to(chat))
        await self.push(self.api.press(chat, shown.message_id, payload))
        return self.api.sent_to(chat)[before:]

    async def drain(self) -> None:
        await self.worker.drain()

    def texts(self, chat: int) -> list[str]:
        return [m.text or "" for m in self.api.sent_to(chat)]


@contextlib.asynccontextmanager
async def running_telegram(
    api: FakeTelegramAPI, database_url: str, tmp_path: Path, teams_file: Path, **settings: Any
) -> AsyncIterator[Tg]:
    """The real bot (runtime, HTTP app, python-telegram-bot) against the Bot API
    stand-in; ``settings`` adds to the test settings (e.g. a speech-to-text URL)."""
    port = free_port()
    runtime = await build_runtime(
        make_settings(
            database_url,
            tmp_path,
            http_port=port,
            telegram_bot_token=api.token,
            telegram_api_base_url=api.base_url,
            teams_file=teams_file,
            **settings,
        )
    )
    add_configured_channels(runtime)
    channel = next(c for c in runtime.channels if isinstance(c, TelegramChannel))
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await channel.start()
    try:
        yield Tg(api, runtime, channel)
    finally:
        await channel.stop()
        await runner.cleanup()
        await runtime.close()


@pytest.fixture
async def tg(database_url: str, tmp_path: Path, teams_file: Path) -> AsyncIterator[Tg]:
    async with (
        FakeTelegramAPI() as api,
        running_telegram(api, database_url, tmp_path, teams_file) as running,
    ):
        yield running

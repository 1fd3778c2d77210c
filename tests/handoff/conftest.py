"""Handoff test harness: the real service on a real database (SQLite and
PostgreSQL), the real outbox and its worker, and recording channel senders
standing in for the platforms (they record what would reach each chat)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.crypto import KeyRing
from bot.interfaces import Action, ActionCall, DeliveryError
from bot.messages import Incoming, Outgoing
from bot.outbox import Outbox, OutboxWorker
from bot.store import users as user_store
from bot.store.db import Database
from handoff.service import HandoffService
from handoff.teams import TeamsConfig, parse_teams
from tests.conftest import SECRET

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

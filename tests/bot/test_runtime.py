"""The runtime's wiring, through a real running runtime (real NLU, flows, outbox,
handoff service, background loops) on SQLite and PostgreSQL.

Every hook of ``bot.interfaces.Handoff`` is reached here by what a person or a
member would notice, not by asking the protocol: renaming a hook on the
service, or dropping its call from the runtime, fails these tests. The
retention purge runs against rows aged in the database, and ``/metrics`` is
scraped over HTTP after real turns.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from bot.app import build_app
from bot.channels.telegram import team_groups_of
from bot.interfaces import DeliveryError, Failure
from bot.messages import Incoming, Outgoing, utcnow
from bot.runtime import Runtime, build_runtime
from bot.store.models import User
from handoff import texts
from handoff.models import HandoffConsent, HandoffMessage, HandoffRequest
from tests.conftest import make_settings
from tests.handoff.conftest import GROUP_A, GROUP_B, HOA, TEAMS, RecordingSender

SHE = "sid-runtime-she"


class Person:
    """Someone on the web chat, through ``Engine.handle`` as the channel calls it."""

    def __init__(self, runtime: Runtime, address: str) -> None:
        self.rt = runtime
        self.address = address
        self.n = 0
        self.last: list[Outgoing] = []

    def _mid(self) -> str:
        self.n += 1
        return f"{self.address}-{self.n}"

    async def say(self, text: str) -> list[Outgoing]:
        incoming = Incoming("web", self.address, self._mid(), text=text)
        self.last = await self.rt.engine.handle(incoming)
        return self.last

    async def press(self, payload: str) -> list[Outgoing]:
        incoming = Incoming("web", self.address, self._mid(), payload=payload)
        self.last = await self.rt.engine.handle(incoming)
        return self.last

    async def tap(self, label_part: str) -> list[Outgoing]:
        payload = next(
            b.payload for m in self.last for b in m.buttons if label_part.lower() in b.label.lower()
        )
        return await self.press(payload)

    async def ask_for_a_person(self, area: str = "xa phu hung") -> list[Outgoing]:
        await self.say("tôi muốn nói chuyện với người thật")
        await self.tap("Đồng ý")
        if any("kín đáo" in b.label for m in self.last for b in m.buttons):
            await self.tap("bình thường")
        await self.say(area)
        await self.tap("Đúng rồi")  # she confirms the place that was understood
        return await self.tap("Bạo lực")


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    """Wait for a background loop of the runtime to do its part."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the running runtime never did it")
        await asyncio.sleep(0.05)


@pytest.fixture
async def rt(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    teams = tmp_path / "teams.yml"
    teams.write_text(yaml.safe_dump(TEAMS, allow_unicode=True), encoding="utf-8")
    runtime = await build_runtime(make_settings(database_url, tmp_path, teams_file=teams))
    try:
        yield runtime
    finally:
        await runtime.close()


async def _request_of(runtime: Runtime, person: Person) -> HandoffRequest:
    key = runtime.keyring.user_key("web", person.address)
    async with runtime.db.transaction() as s:
        request = await s.scalar(
            select(HandoffRequest)
            .where(HandoffRequest.user_key == key)
            .order_by(HandoffRequest.id.desc())
        )
    assert request is not None
    return request


async def test_a_running_runtime_reaches_every_handoff_hook(rt: Runtime) -> None:
    telegram, web = RecordingSender("telegram"), RecordingSender("web")
    rt.senders.update({"telegram": telegram, "web": web})
    she, other = Person(rt, SHE), Person(rt, "sid-runtime-other")

    # placeholders, on_action (consent, start_handoff), is_active
    queued = await she.ask_for_a_person()
    assert "113" in "\n".join(m.text for m in queued)
    # relay_from_user: held while queued
    assert await she.say("chồng tôi đang say rượu") == []

    # background_tasks (timers): a request unclaimed for an hour is escalated on
    # the first tick, so the fallback team's group gets a card.
    await other.ask_for_a_person()
    late = await _request_of(rt, other)
    async with rt.db.transaction() as s:
        await s.execute(
            update(HandoffRequest)
            .where(HandoffRequest.id == late.id)
            .values(queued_at=utcnow() - timedelta(hours=1))
        )
    await rt.start_background(outbox_poll=0.02)

    async def card_in(group: str) -> bool:
        return any(s.message.buttons for s in telegram.to(group))

    await eventually(lambda: card_in(GROUP_B))
    async with rt.db.transaction() as s:
        escalated = await s.get(HandoffRequest, late.id)
        assert escalated is not None and escalated.escalated_at is not None

    # handle_team: a member takes her card from the team group.
    await eventually(lambda: card_in(GROUP_A))
    mine = await _request_of(rt, she)
    card = next(
        s
        for s in telegram.to(GROUP_A)
        if s.message.buttons and s.message.buttons[0].payload == f"ho:take:{mine.id}"
    )
    taken = await rt.engine.handle(
        Incoming(
            "telegram",
            GROUP_A,
            "take-1",
            payload=card.message.buttons[0].payload,
            sender_id=HOA,
            button_message_id=card.ids[0],
        )
    )
    assert taken and taken[0].alert and taken[0].text == texts.ALERT_TAKEN_BY_YOU

    async def member_read(part: str) -> bool:
        return any(part in t for t in telegram.texts_to(HOA))

    await eventually(lambda: member_read("say rượu"))

    # on_undeliverable: her chat refuses for good; the member is told once.
    web.fail[SHE] = DeliveryError(Failure.CONTACT_STOPPED, "blocked")
    await rt.engine.handle(Incoming("telegram", HOA, "pm-1", text="Chị có an toàn không?"))
    await eventually(lambda: member_read(texts.unreachable(mine.alias)))

    # team_group_ids: the Telegram adapter stays in both team groups.
    assert await team_groups_of(rt.engine)() == {GROUP_A, GROUP_B}

    # forget: erase deletes every handoff row about her.
    await she.press("cmd:erase")
    await she.press("a:erase")
    key = rt.keyring.user_key("web", SHE)
    async with rt.db.transaction() as s:
        left = await s.scalar(
            select(func.count()).select_from(HandoffRequest).where(HandoffRequest.user_key == key)
        )
        consents = await s.scalar(
            select(func.count()).select_from(HandoffConsent).where(HandoffConsent.user_key == key)
        )
    assert left == 0 and consents == 0
    # purge_hook, keep_hook and counts_by_state: the tests below.


async def _age(runtime: Runtime, person: Person, *, days: int) -> None:
    key = runtime.keyring.user_key("web", person.address)
    async with runtime.db.transaction() as s:
        await s.execute(
            update(User).where(User.key == key).values(last_seen_at=utcnow() - timedelta(days=days))
        )


async def _close(runtime: Runtime, request: HandoffRequest, *, days_ago: int) -> None:
    async with runtime.db.transaction() as s:
        await s.execute(
            update(HandoffRequest)
            .where(HandoffRequest.id == request.id)
            .values(status="closed", closed_at=utcnow() - timedelta(days=days_ago))
        )


async def test_retention_purge_of_a_running_runtime(rt: Runtime) -> None:
    retention = rt.settings.retention_days
    gone, fresh = Person(rt, "sid-gone"), Person(rt, "sid-fresh")
    waiting, old_chat, new_chat = (
        Person(rt, "sid-waiting"),
        Person(rt, "sid-old-chat"),
        Person(rt, "sid-new-chat"),
    )
    await gone.say("xin chào")
    await fresh.say("xin chào")
    for person in (waiting, old_chat, new_chat):
        await person.ask_for_a_person()
        await person.say("tin nhắn cho tổ hỗ trợ")  # kept sealed in the transcript
    old_request = await _request_of(rt, old_chat)
    new_request = await _request_of(rt, new_chat)
    await _close(rt, old_request, days_ago=retention + 1)
    await _close(rt, new_request, days_ago=retention - 1)
    # Inactive past retention: deleted, unless she is in an open chat.
    await _age(rt, gone, days=retention + 1)
    await _age(rt, waiting, days=retention + 1)

    await rt.start_background(outbox_poll=0.05)  # the purge runs at once, then hourly

    def key(person: Person) -> str:
        return rt.keyring.user_key("web", person.address)

    async def users() -> set[str]:
        async with rt.db.transaction() as s:
            return set((await s.scalars(select(User.key))).all())

    async def purged() -> bool:
        return key(gone) not in await users()

    await eventually(purged)
    assert {key(fresh), key(waiting), key(old_chat), key(new_chat)} <= await users()
    async with rt.db.transaction() as s:
        requests = set((await s.scalars(select(HandoffRequest.id))).all())
        transcripts = set((await s.scalars(select(HandoffMessage.request_id))).all())
    assert old_request.id not in requests and old_request.id not in transcripts
    # A closed chat's record stays for the retention period, its transcript only
    # HELPLINE_MEMBER_COPY_HOURS (handoff/copies.py): the console forgets then.
    assert new_request.id in requests and new_request.id not in transcripts
    assert (await _request_of(rt, waiting)).id in transcripts


def _sample(body: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    found = re.search(pattern, body, re.MULTILINE)
    assert found, f"{name}{labels} not in /metrics"
    return float(found.group(1))


async def test_metrics_endpoint_counts_turns_and_handoffs(rt: Runtime) -> None:
    # /metrics is on the public port only behind a bearer token (tests/security covers 404).
    token = "k7Q2-metrics-9fT3xLw8pZ4vR6nB1mYc"
    rt.settings = rt.settings.model_copy(update={"metrics_token": token})
    client = TestClient(TestServer(build_app(rt)), headers={"Authorization": f"Bearer {token}"})
    await client.start_server()
    try:
        before = await (await client.get("/metrics")).text()
        assert _sample(before, "helpline_handoffs", '{state="queued"}') == 0
        assert 'helpline_turns_total{channel="web"}' not in before

        she = Person(rt, SHE)
        await she.say("xin chào")
        await she.ask_for_a_person()
        await she.say("xin chào")  # redelivered below
        again = Incoming("web", SHE, she._mid(), text="xin chào")
        await rt.engine.handle(again)
        assert await rt.engine.handle(again) == []

        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        body = await response.text()
    finally:
        await client.close()
    assert _sample(body, "helpline_turns_total", '{channel="web"}') == she.n
    assert _sample(body, "helpline_duplicate_updates_total") == 1
    assert _sample(body, "helpline_handoffs", '{state="queued"}') == 1
    assert _sample(body, "helpline_outbox_items", '{status="pending"}') >= 1
    assert SHE not in body and "xin chào" not in body

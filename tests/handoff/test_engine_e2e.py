"""The handoff through the real runtime: real NLU, real flows, real engine,
real outbox on SQLite and PostgreSQL. She talks on the web chat; the team's
Telegram side is a recording sender (the PTB path is in test_telegram_e2e)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.messages import Incoming, Outgoing
from bot.outbox import OutboxWorker
from bot.runtime import Runtime, build_runtime
from tests.conftest import make_settings
from tests.handoff.conftest import GROUP_A, HOA, LAN, RecordingSender

SHE = "sid-e2e-she"


class Flow:
    """She and the team, through ``Engine.handle`` as the channels call it."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.telegram = RecordingSender("telegram")
        self.web = RecordingSender("web")
        runtime.senders.update({"telegram": self.telegram, "web": self.web})
        self.worker = OutboxWorker(
            runtime.db,
            runtime.outbox,
            runtime.senders,
            on_undeliverable=runtime.engine.handoff.on_undeliverable,  # type: ignore[union-attr]
            on_delivered=runtime.engine.handoff.on_delivered,  # type: ignore[union-attr]
        )
        self.n = 0
        self.last: list[Outgoing] = []

    def _mid(self) -> str:
        self.n += 1
        return f"e{self.n}"

    async def say(self, text: str, who: str = SHE) -> list[Outgoing]:
        self.last = await self.rt.engine.handle(Incoming("web", who, self._mid(), text=text))
        return self.last

    async def tap(self, label_part: str, who: str = SHE) -> list[Outgoing]:
        payload = next(
            b.payload for m in self.last for b in m.buttons if label_part.lower() in b.label.lower()
        )
        self.last = await self.rt.engine.handle(Incoming("web", who, self._mid(), payload=payload))
        return self.last

    async def ask_for_a_person(self, area: str = "xa phu hung", who: str = SHE) -> list[Outgoing]:
        await self.say("tôi muốn nói chuyện với người thật", who)
        await self.tap("Đồng ý", who)
        if any("kín đáo" in b.label for m in self.last for b in m.buttons):
            await self.tap("bình thường", who)
        await self.say(area, who)
        await self.tap("Đúng", who)  # "Mình hiểu là: ... — đúng không?"
        return await self.tap("Bạo lực", who)

    async def member(self, member: str, text: str, **kw: Any) -> list[Outgoing]:
        return await self.rt.engine.handle(
            Incoming("telegram", member, self._mid(), text=text, **kw)
        )

    async def take(self, member: str, card_mid: str, payload: str) -> list[Outgoing]:
        return await self.rt.engine.handle(
            Incoming(
                "telegram",
                GROUP_A,
                self._mid(),
                payload=payload,
                sender_id=member,
                button_message_id=card_mid,
            )
        )

    async def drain(self) -> None:
        await self.worker.drain()


@pytest.fixture
async def flow(database_url: str, tmp_path: Path, teams_file: Path) -> AsyncIterator[Flow]:
    rt = await build_runtime(make_settings(database_url, tmp_path, teams_file=teams_file))
    try:
        yield Flow(rt)
    finally:
        await rt.close()


def said(messages: list[Outgoing]) -> str:
    return "\n".join(m.text for m in messages)


async def test_whole_handoff_through_the_engine(flow: Flow) -> None:
    queued = await flow.ask_for_a_person()
    assert "113" in said(queued)
    await flow.drain()
    [card] = [s for s in flow.telegram.to(GROUP_A) if s.message.buttons]
    payload = card.message.buttons[0].payload
    answers = await asyncio.gather(
        flow.take(HOA, card.ids[0], payload), flow.take(LAN, card.ids[0], payload)
    )
    assert sorted("You took it" in a[0].text for a in answers) == [False, True]
    await flow.drain()
    winner = HOA if any("Connected" in t for t in flow.telegram.texts_to(HOA)) else LAN

    # Her text reaches the member, the member's answer reaches her as "the team".
    assert await flow.say("chồng tôi lại say rượu và đập phá đồ đạc") == []
    await flow.drain()
    assert any("đập phá" in t and t.startswith("#") for t in flow.telegram.texts_to(winner))
    assert await flow.member(winner, "Chị đang ở đâu, có an toàn không?") == []
    await flow.drain()
    to_her = flow.web.texts_to(SHE)
    assert "Tổ hỗ trợ: Chị đang ở đâu, có an toàn không?" in to_her
    assert not any("Hoa" in t or "Lan" in t or winner in t for t in to_her)

    # Danger mid-handoff: 113 at once to her, and the member still gets her words.
    urgent = await flow.say("cứu tôi, anh ta đang cầm dao")
    assert urgent and "113" in urgent[0].text
    await flow.drain()
    assert any("cầm dao" in t for t in flow.telegram.texts_to(winner))

    # The member ends: both are told, and her next message goes to the bot again.
    ended = await flow.member(winner, "/end")
    assert "ended" in said(ended)
    await flow.drain()
    assert flow.web.texts_to(SHE)[-1]
    after = await flow.say("xin chào")
    assert after and not any("xin chào" in t for t in flow.telegram.texts_to(winner)[-1:])


async def test_stop_and_erase_always_work_mid_handoff(flow: Flow) -> None:
    await flow.ask_for_a_person()
    await flow.drain()
    [card] = [s for s in flow.telegram.to(GROUP_A) if s.message.buttons]
    await flow.take(HOA, card.ids[0], card.message.buttons[0].payload)
    await flow.drain()
    out = await flow.say("/stop")
    assert out
    await flow.drain()
    assert any("ended the chat" in t for t in flow.telegram.texts_to(HOA))

    other = "sid-e2e-other"
    await flow.ask_for_a_person(who=other)
    await flow.drain()
    card = [s for s in flow.telegram.to(GROUP_A) if s.message.buttons][-1]
    await flow.take(LAN, card.ids[0], card.message.buttons[0].payload)
    await flow.drain()
    await flow.say("xoá dữ liệu", other)
    if any(b for m in flow.last for b in m.buttons):
        await flow.tap("xóa", other)  # the flows confirm erase with a button
    await flow.drain()
    assert any("ended the chat" in t for t in flow.telegram.texts_to(LAN))
    async with flow.rt.db.transaction() as s:
        from sqlalchemy import func, select

        from handoff.models import HandoffConsent, HandoffRequest

        key = flow.rt.keyring.user_key("web", other)
        for model in (HandoffRequest, HandoffConsent):
            assert (
                await s.scalar(select(func.count()).select_from(model).where(model.user_key == key))
                == 0
            )


async def test_restart_delivers_what_was_queued(
    database_url: str, tmp_path: Path, teams_file: Path
) -> None:
    settings = make_settings(database_url, tmp_path, teams_file=teams_file)
    rt = await build_runtime(settings)
    flow = Flow(rt)
    await flow.ask_for_a_person()
    await rt.close()  # the process dies: the card is only in the outbox

    rt2 = await build_runtime(settings)
    try:
        again = Flow(rt2)
        await again.drain()
        assert [s for s in again.telegram.to(GROUP_A) if s.message.buttons]
    finally:
        await rt2.close()

"""Suicidal distress through the whole bot: the real NLU, engine, flows and
handoff. Whatever she was doing, "toi muon chet", "khong muon song nua" or
"i want to end it" reaches the careful answer (115, 1900 969 680, the team)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.messages import Incoming, Outgoing, utcnow
from bot.store import users as user_store


class Her:
    """One person on the web chat."""

    def __init__(self, rt: Any, address: str = "her-session-0000000000000042"):
        self.rt, self.address, self.n = rt, address, 0

    async def say(self, **kw: Any) -> list[Outgoing]:
        self.n += 1
        return list(
            await self.rt.engine.handle(
                Incoming(channel="web", address=self.address, message_id=str(self.n), **kw)
            )
        )

    async def press(self, replies: list[Outgoing], label: str) -> list[Outgoing]:
        for m in reversed(replies):
            for b in m.buttons:
                if b.label == label:
                    return await self.say(payload=b.payload)
        raise AssertionError(f"no button {label!r} in {[m.text[:40] for m in replies]}")


def careful(replies: list[Outgoing]) -> bool:
    text = "\n".join(m.text for m in replies)
    return "115" in text and "1900 969 680" in text and ("bot" in text.lower())


@pytest.mark.parametrize("said", ["toi muon chet", "khong muon song nua", "i want to end it"])
async def test_distress_from_the_middle_of_a_flow(runtime: Any, said: str) -> None:
    her = Her(runtime)
    await her.say(text="thu tuc ly hon the nao")
    assert careful(await her.say(text=said))


async def test_distress_at_the_area_prompt_is_not_taken_as_an_area(runtime: Any) -> None:
    her = Her(runtime)
    replies = await her.say(text="toi muon noi chuyen voi nguoi ho tro")
    replies = await her.press(replies, "Đồng ý")
    assert any("xã/phường" in m.text for m in replies)  # the web chat: no discreet question
    replies = await her.say(text="khong muon song nua")
    assert careful(replies)
    assert not any(b.payload.startswith("a:topic:") for m in replies for b in m.buttons)


async def test_distress_during_a_handoff_is_answered_and_still_relayed(runtime: Any) -> None:
    her = Her(runtime)
    replies = await her.say(text="toi muon noi chuyen voi nguoi ho tro")
    replies = await her.press(replies, "Đồng ý")
    replies = await her.press(replies, "Bỏ qua")
    await her.press(replies, "Bạo lực trong gia đình")
    before = await from_her(runtime)
    replies = await her.say(text="i want to end it")
    assert careful(replies)
    assert await from_her(runtime) == before + 1, "her words still reach the counsellor"
    async with runtime.db.transaction() as session:
        user, _ = await user_store.load_user(
            session, runtime.db, runtime.engine.keyring, "web", her.address, utcnow()
        )
        assert await runtime.engine.handoff.is_active(session, user), "the chat goes on"


async def from_her(runtime: Any) -> int:
    """Transcript rows written from her side (sealed: only counted here)."""
    from handoff.models import HandoffMessage

    async with runtime.db.transaction() as session:
        rows = await session.execute(
            select(func.count()).select_from(HandoffMessage).where(HandoffMessage.kind == "user")
        )
        return int(rows.scalar_one())

"""The engine with the real NLU, real flows and a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.interfaces import TurnContext, TurnResult
from bot.messages import Incoming
from bot.runtime import build_runtime
from bot.store.models import MessageRef, User
from tests.conftest import make_settings


def said(messages: list[Any]) -> str:
    return "\n".join(m.text for m in messages)


async def test_greeting_is_answered_with_buttons(runtime: Any) -> None:
    out = await runtime.engine.handle(Incoming("web", "sid-greet", "m1", text="xin chào"))
    assert out and out[0].text
    assert any(m.buttons for m in out), "a greeting offers the menu as buttons"


async def test_redelivered_update_is_answered_once(runtime: Any) -> None:
    first = await runtime.engine.handle(Incoming("web", "sid-dup", "m1", text="chao ban"))
    again = await runtime.engine.handle(Incoming("web", "sid-dup", "m1", text="chao ban"))
    assert first and again == []
    other = await runtime.engine.handle(Incoming("web", "sid-dup", "m2", text="chao ban"))
    assert other


class RecordingRunner:
    """Wraps the real runner to observe turn order and overlap (no behaviour change
    except a turn counter kept in the state, to detect lost updates)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.order: list[str] = []
        self.active = 0
        self.max_active = 0

    def step(self, ctx: TurnContext) -> TurnResult:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            self.order.append(ctx.text or "")
            result = self.inner.step(ctx)
            result.state["_turns"] = int(ctx.state.get("_turns", 0)) + 1
            return result
        finally:
            self.active -= 1

    def render(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.render(*args, **kwargs)


async def test_messages_of_one_user_are_handled_in_order(runtime: Any) -> None:
    recorder = RecordingRunner(runtime.engine.runner)
    runtime.engine.runner = recorder
    texts = [f"tin nhan so {i}" for i in range(30)]
    await asyncio.gather(
        *(
            runtime.engine.handle(Incoming("web", "sid-order", f"m{i}", text=t))
            for i, t in enumerate(texts)
        )
    )
    assert recorder.order == texts
    async with runtime.db.transaction() as s:
        user = await s.scalar(select(User))
        assert user is not None and user.state["_turns"] == 30


async def test_two_processes_never_lose_a_turn_of_one_user(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two runtimes (as two processes would) on one PostgreSQL: the user row lock
    serialises her turns, so every turn sees the state the previous one saved."""
    a = await build_runtime(make_settings(postgres_url, tmp_path))
    b = await build_runtime(make_settings(postgres_url, tmp_path))
    try:
        for rt in (a, b):
            rt.engine.runner = RecordingRunner(rt.engine.runner)
        jobs = [
            (a if i % 2 else b).engine.handle(
                Incoming("telegram", "777000111", f"m{i}", text=f"hello {i}")
            )
            for i in range(16)
        ]
        await asyncio.gather(*jobs)
        async with a.db.transaction() as s:
            user = await s.scalar(select(User))
            assert user is not None and user.state["_turns"] == 16
    finally:
        await a.close()
        await b.close()


async def test_ten_thousand_characters_get_an_answer(runtime: Any) -> None:
    text = ("tôi không biết phải làm sao " * 400)[:10_000]
    out = await runtime.engine.handle(Incoming("web", "sid-long", "m1", text=text))
    assert out and all(len(m.text) <= 4096 for m in out)


async def test_emoji_flood_and_blank_input_get_an_answer(runtime: Any) -> None:
    out = await runtime.engine.handle(Incoming("web", "sid-emoji", "m1", text="😭" * 3000))
    assert out
    out = await runtime.engine.handle(Incoming("web", "sid-emoji", "m2", text="   "))
    assert out, "blank text still gets the menu"


async def test_non_text_gets_text_only_answer_and_menu(runtime: Any) -> None:
    out = await runtime.engine.handle(Incoming("telegram", "555", "m1", attachment="sticker"))
    assert out and any(m.buttons for m in out)


async def test_emergency_mid_flow_answers_113_first(runtime: Any) -> None:
    await runtime.engine.handle(
        Incoming("web", "sid-sos", "m1", text="tôi muốn hỏi về luật ly hôn")
    )
    out = await runtime.engine.handle(
        Incoming("web", "sid-sos", "m2", text="cuu toi voi no dang danh toi")
    )
    assert "113" in out[0].text


async def test_not_understood_never_starts_handoff_or_erase(runtime: Any) -> None:
    out = await runtime.engine.handle(Incoming("web", "sid-q", "m1", text="qwzx plor vvv"))
    assert out
    assert runtime.engine.last_trace.actions == []
    async with runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1


async def test_erase_deletes_every_row_about_her(runtime: Any) -> None:
    engine = runtime.engine
    await engine.handle(Incoming("web", "sid-erase", "m1", text="xin chao"))
    await engine.handle(Incoming("web", "sid-keep", "k1", text="xin chao"))
    await engine.remember_message_ids("web", "sid-erase", ["11", "12"])
    await engine.message_refs.flush()
    await engine.remember_message_ids("web", "sid-erase", ["13"])  # still buffered
    asked = await engine.handle(Incoming("web", "sid-erase", "m2", payload="cmd:erase"))
    key = runtime.keyring.user_key("web", "sid-erase")
    async with runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(User).where(User.key == key)) == 1, (
            "asking is not erasing"
        )
    confirm = [b.payload for m in asked for b in m.buttons if b.payload.startswith("a:erase")]
    assert len(confirm) == 1, "one button press confirms"
    out = await engine.handle(Incoming("web", "sid-erase", "m3", payload=confirm[0]))
    assert out and out[0].clear_history
    assert {"11", "12", "13"} <= set(out[0].delete_ids), "her recent chat messages are deleted too"
    await engine.message_refs.flush()
    async with runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(User).where(User.key == key)) == 0
        assert (
            await s.scalar(
                select(func.count()).select_from(MessageRef).where(MessageRef.user_key == key)
            )
            == 0
        )
        assert await s.scalar(select(func.count()).select_from(User)) == 1, (
            "the other person is untouched"
        )

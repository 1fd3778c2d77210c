"""Property-based fuzzing of the engine: whatever arrives — random text,
unicode, huge inputs, random button payloads, attachments, a damaged state —
no exception escapes and the person always gets an answer."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from bot.messages import ATTACHMENT_KINDS, Incoming
from bot.runtime import build_runtime
from bot.store.models import User
from tests.conftest import make_settings

_ids = itertools.count()

texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50).map(lambda s: s * 200),
    st.sampled_from(
        [
            "cứu",
            "CUU TOI",
            "stop",
            "/start",
            "menu",
            "xoá",
            "1",
            "2",
            "yes",
            "😭😭😭",
            "\x00\x01",
            "\u202e",
        ]
    ),
)
payloads = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "cmd:start",
            "cmd:menu",
            "cmd:help",
            "cmd:stop",
            "cmd:lang",
            "cmd:erase",
            "cmd:privacy",
            "a:erase",
            "n:",
            "a:",
            "a:lang:xx",
            "n:nope",
        ]
    ),
    st.builds(
        lambda a, b: f"{a}:{b}", st.sampled_from(["n", "a", "cmd", "ho"]), st.text(max_size=40)
    ),
)
states = st.dictionaries(
    st.sampled_from(["node", "slots", "awaiting", "lang", "prev", "x"]),
    st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3)),
    max_size=4,
)
events = st.lists(
    st.one_of(
        st.builds(lambda t: ("text", t), texts),
        st.builds(lambda p: ("payload", p), payloads),
        st.builds(lambda k: ("attachment", k), st.sampled_from(ATTACHMENT_KINDS)),
        st.builds(lambda s: ("state", s), states),
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture(scope="module")
def engine_loop(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[asyncio.AbstractEventLoop, Any]]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    loop = asyncio.new_event_loop()
    runtime = loop.run_until_complete(
        build_runtime(make_settings(f"sqlite+aiosqlite:///{tmp / 'helpline.db'}", tmp))
    )
    try:
        yield loop, runtime
    finally:
        loop.run_until_complete(runtime.close())
        loop.close()


async def _play(runtime: Any, script: list[tuple[str, Any]]) -> None:
    address = f"fuzz-{next(_ids)}"
    for kind, value in script:
        if kind == "state":
            key = runtime.keyring.user_key("telegram", address)
            async with runtime.db.transaction() as s:
                await s.execute(update(User).where(User.key == key).values(state=value))
            continue
        incoming = Incoming("telegram", address, f"u{next(_ids)}")
        if kind == "text":
            incoming.text = value
        elif kind == "payload":
            incoming.payload = value
        else:
            incoming.attachment = value
        out = await runtime.engine.handle(incoming)
        assert out, f"no answer to {kind}"
        assert all(m.text.strip() for m in out), "every message says something"


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=events)
def test_engine_always_answers(
    engine_loop: tuple[asyncio.AbstractEventLoop, Any], script: list[tuple[str, Any]]
) -> None:
    loop, runtime = engine_loop
    loop.run_until_complete(_play(runtime, script))

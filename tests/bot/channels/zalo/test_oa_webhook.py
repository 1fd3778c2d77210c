"""The OA channel end to end: signed events over real HTTP into the real
runtime (engine, NLU, flows, database), replies to the local OA stand-in.

What she gets on Zalo must be what the engine answers on any channel, so the
expected answers come from the same runtime asked on the web channel."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app import add_configured_channels, build_app
from bot.channels.zalo.common import fold
from bot.channels.zalo.oa import ZaloOAChannel
from bot.messages import Incoming, Outgoing
from bot.runtime import Runtime, build_runtime
from bot.store.models import User
from tests.conftest import make_settings
from tests.fakes.zalo_api import FakeZalo, OASent, load_event, now_ms, oa_signature

OA_KEY = "oa-secret-key-123"
USER = "2468013579246801357"


@dataclass
class OA:
    fake: FakeZalo
    runtime: Runtime
    channel: ZaloOAChannel
    http: TestClient[Any, Any]
    access_token: str

    async def post(
        self,
        data: Any,
        *,
        key: str = OA_KEY,
        timestamp: str | None = None,
        signature: str | None = None,
        raw: bytes | None = None,
    ) -> int:
        """POST an event as Zalo does: timestamp in the body, signed over the raw bytes."""
        if isinstance(data, dict) and "timestamp" in data:
            data["timestamp"] = timestamp or now_ms()
        body = raw if raw is not None else json.dumps(data, ensure_ascii=False).encode()
        ts = data.get("timestamp", "") if isinstance(data, dict) else ""
        headers = {"Content-Type": "application/json"}
        sig = signature if signature is not None else oa_signature(self.fake.app_id, body, ts, key)
        if sig:
            headers["X-ZEvent-Signature"] = sig
        resp = await self.http.post("/zalo/oa/webhook", data=body, headers=headers)
        return resp.status

    async def say(self, text: str, *, msg_id: str | None = None, user: str = USER) -> int:
        event = load_event(
            "oa_user_send_text", text=text, msg_id=msg_id or uuid.uuid4().hex, sender_id=user
        )
        status = await self.post(event)
        await self.channel.work.wait()
        return status


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite unless the test asks for ``BOTH`` databases (where they matter:
    dedupe, options, tokens)."""
    if getattr(request, "param", "sqlite") == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite+aiosqlite:///{tmp_path / 'helpline.db'}"


BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
async def oa(db_url: str, tmp_path: Path) -> AsyncIterator[OA]:
    database_url = db_url
    async with FakeZalo() as fake:
        access, refresh = fake.issue_pair()
        settings = make_settings(
            database_url,
            tmp_path,
            zalo_app_id=fake.app_id,
            zalo_app_secret=fake.app_secret,
            zalo_oa_secret_key=OA_KEY,
            zalo_oa_access_token=access,
            zalo_oa_refresh_token=refresh,
            zalo_oa_api_base_url=fake.url,
            zalo_oauth_base_url=fake.url,
        )
        runtime = await build_runtime(settings)
        add_configured_channels(runtime)
        channel = next(c for c in runtime.channels if c.name == "zalo_oa")
        assert isinstance(channel, ZaloOAChannel)
        await runtime.start_background(outbox_poll=0.05)
        try:
            async with TestClient(TestServer(build_app(runtime), host="127.0.0.1")) as http:
                await channel.start()
                yield OA(fake, runtime, channel, http, access)
                await channel.stop()
        finally:
            await runtime.close()


async def reference(runtime: Runtime, *steps: dict[str, Any]) -> list[Outgoing]:
    """The engine's answer to the same steps from a new person on the web chat."""
    address = "ref-" + uuid.uuid4().hex
    replies: list[Outgoing] = []
    for step in steps:
        replies = await runtime.engine.handle(Incoming(channel="web", address=address, **step))
    return replies


def assert_same_answer(sent: list[OASent], expected: list[Outgoing]) -> None:
    """Every expected text arrived, in order, with its buttons as Zalo buttons
    (up to 5) or as numbered lines."""
    assert expected, "the engine answers every step"
    joined = "\n".join(m.text for m in sent)
    position = 0
    for message in expected:
        for piece in message.text.split("\n\n"):
            found = joined.find(piece.strip(), position)
            assert found >= 0, "reply text missing or out of order"
            position = found
        if 0 < len(message.buttons) <= 5:
            payloads = [[b["payload"] for b in m.buttons] for m in sent]
            assert [b.payload for b in message.buttons] in payloads
        elif message.buttons:
            assert f"{len(message.buttons)}. {message.buttons[-1].label}" in joined


@BOTH
async def test_signed_text_is_answered_with_the_right_call(oa: OA) -> None:
    assert await oa.say("xin chào") == 200
    sent = oa.fake.oa_sent
    assert sent and all(m.user_id == USER for m in sent)
    assert all(m.access_token == oa.access_token for m in sent), "bare access_token header"
    assert all(set(m.body) == {"recipient", "message"} for m in sent)
    assert_same_answer(sent, await reference(oa.runtime, {"text": "xin chào"}))


async def test_danger_words_get_113_in_the_first_reply(oa: OA) -> None:
    await oa.say("cuu toi voi chong toi dang danh toi")
    assert oa.fake.oa_sent and "113" in oa.fake.oa_sent[0].text


async def test_bad_signatures_are_refused_and_nothing_is_processed(oa: OA) -> None:
    def fresh() -> dict[str, Any]:
        return load_event("oa_user_send_text", text="xin chào", msg_id=uuid.uuid4().hex)

    tampered = fresh()
    tampered["timestamp"] = now_ms()
    body = json.dumps(tampered).encode()
    signed = oa_signature(oa.fake.app_id, body, tampered["timestamp"], OA_KEY)
    statuses = {
        "forged": await oa.post(fresh(), signature="mac=" + "0" * 64),
        "other secret": await oa.post(fresh(), key="not-the-key"),
        "app secret": await oa.post(fresh(), key=oa.fake.app_secret),
        "missing": await oa.post(fresh(), signature=""),
        "stale": await oa.post(fresh(), timestamp=now_ms(-3600)),
        "future": await oa.post(fresh(), timestamp=now_ms(+3600)),
        "tampered": await oa.post(
            tampered, raw=body.replace(b"xin ch", b"XIN CH"), signature=signed
        ),
    }
    assert statuses == dict.fromkeys(statuses, 403)
    await oa.channel.work.wait()
    await asyncio.sleep(0.05)
    assert oa.fake.oa_sent == []
    async with oa.runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0
    assert await oa.say("xin chào") == 200 and oa.fake.oa_sent, "a good one still passes"


async def test_malformed_events_get_400_and_receipts_are_ignored(oa: OA) -> None:
    # Unsigned garbage is refused before it is parsed; signed garbage is a 400.
    assert await oa.post({}, raw=b"{not json") == 403
    assert await oa.post({}, raw=b"[1, 2]") == 403
    for template in (b'{"timestamp": "%s", not json', b'[{"timestamp": "%s"}]'):
        ts = now_ms()
        raw = template % ts.encode()
        signed = oa_signature(oa.fake.app_id, raw, ts, OA_KEY)
        assert await oa.post({}, raw=raw, signature=signed) == 400
    no_sender = load_event("oa_user_send_text")
    del no_sender["sender"]
    assert await oa.post(no_sender) == 400
    # Receipts and follows are acknowledged and ignored.
    assert await oa.post(load_event("oa_user_seen_message")) == 200
    assert await oa.post(load_event("oa_follow")) == 200
    await oa.channel.work.wait()
    assert oa.fake.oa_sent == []
    assert await oa.say("vẫn hoạt động") == 200
    assert oa.fake.oa_sent, "the channel still answers after bad input"


@BOTH
async def test_redelivered_event_is_answered_once(oa: OA) -> None:
    event = load_event("oa_user_send_text", text="xin chào", msg_id="dup-123")
    assert await oa.post(event) == 200
    await oa.channel.work.wait()
    once = len(oa.fake.oa_sent)
    assert once > 0
    statuses = await asyncio.gather(*(oa.post(dict(event)) for _ in range(3)))
    await oa.channel.work.wait()
    assert statuses == [200, 200, 200]
    assert len(oa.fake.oa_sent) == once


@BOTH
async def test_button_tap_and_typed_label_become_payloads(oa: OA) -> None:
    await oa.say("cmd:menu")  # what Zalo sends when an oa.query button is tapped
    menu = await reference(oa.runtime, {"payload": "cmd:menu"})
    assert_same_answer(oa.fake.oa_sent, menu)
    buttons = next(m.buttons for m in reversed(menu) if m.buttons)
    assert len(buttons) >= 2
    chosen = buttons[1]
    oa.fake.oa_sent.clear()
    await oa.say(fold(chosen.label))  # typed, lower case, no accents
    trace = oa.runtime.engine.last_trace
    assert trace.intent is None and not trace.duplicate, "taken as the button, not as words"
    expected = await reference(oa.runtime, {"payload": "cmd:menu"}, {"payload": chosen.payload})
    assert_same_answer(oa.fake.oa_sent, expected)


async def test_non_text_gets_the_text_only_answer(oa: OA) -> None:
    event = load_event("oa_user_send_image", msg_id=uuid.uuid4().hex)
    assert await oa.post(event) == 200
    await oa.channel.work.wait()
    assert_same_answer(oa.fake.oa_sent, await reference(oa.runtime, {"attachment": "photo"}))


async def test_caption_with_danger_words_gets_113(oa: OA) -> None:
    event = load_event("oa_user_send_image_caption", msg_id=uuid.uuid4().hex)
    assert await oa.post(event) == 200
    await oa.channel.work.wait()
    assert oa.fake.oa_sent and "113" in oa.fake.oa_sent[0].text
    expected = await reference(
        oa.runtime, {"attachment": "photo", "text": "cuu toi voi chong dang danh"}
    )
    assert_same_answer(oa.fake.oa_sent, expected)


@pytest.mark.parametrize(
    "fixture",
    ["oa_user_send_audio", "oa_user_send_video", "oa_user_send_file", "oa_user_send_gif"],
)
async def test_voice_files_and_gifs_get_the_text_only_answer(oa: OA, fixture: str) -> None:
    event = load_event(fixture, msg_id=uuid.uuid4().hex)
    assert await oa.post(event) == 200
    await oa.channel.work.wait()
    assert_same_answer(oa.fake.oa_sent, await reference(oa.runtime, {"attachment": "photo"}))


async def test_anonymous_chat_is_acknowledged_counted_and_not_kept(
    oa: OA, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    event = load_event("oa_anonymous_send_text")
    assert await oa.post(event) == 200, "Zalo must not retry it"
    await oa.channel.work.wait()
    await asyncio.sleep(0.05)
    assert oa.fake.oa_sent == [], "no reply endpoint is called for an anonymous chat"
    metrics = oa.runtime.engine.metrics.render().decode()
    assert 'helpline_unanswerable_messages_total{channel="zalo_oa",kind="anonymous"} 1.0' in metrics
    async with oa.runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "cannot be answered" in logged
    for secret in ("cuu toi", "9b1f2c3d4e5f6a7b8c9d", "e2b2c3d4e5f6", "3c4d5e6f7a8b"):
        assert secret not in logged


async def test_documented_signature_forms_pass_over_http(oa: OA) -> None:
    for form in ("mac = {}", " mac={} ", "mac={}"):
        event = load_event("oa_user_send_text", text="xin chào", msg_id=uuid.uuid4().hex)
        event["timestamp"] = now_ms()
        body = json.dumps(event).encode()
        digest = oa_signature(oa.fake.app_id, body, event["timestamp"], OA_KEY)[4:]
        header = form.format(digest.upper() if form.startswith(" ") else digest)
        assert await oa.post(event, raw=body, signature=header) == 200, form


async def _rows_about(runtime: Runtime, address: str) -> dict[str, int]:
    """Rows stored under her pseudonym, table by table (users, chat ids, outbox)."""
    from bot.store.models import MessageRef, OutboxItem

    key = runtime.keyring.user_key("zalo_oa", address)
    async with runtime.db.transaction() as s:
        return {
            "users": int(await s.scalar(select(func.count()).where(User.key == key)) or 0),
            "message_refs": int(
                await s.scalar(select(func.count()).where(MessageRef.user_key == key)) or 0
            ),
            "outbox": int(
                await s.scalar(select(func.count()).where(OutboxItem.recipient == key)) or 0
            ),
        }


@BOTH
async def test_user_withdraw_erases_her_like_xoa(oa: OA) -> None:
    """Her request to the OA to delete her data (``user_withdraw``) erases
    everything about her, answers nothing, and creates nothing for a stranger."""
    assert await oa.say("xin chào") == 200
    assert await oa.say("chồng tôi đánh tôi") == 200
    assert (await _rows_about(oa.runtime, USER))["users"] == 1
    sent_before = len(oa.fake.oa_sent)

    assert await oa.post(load_event("oa_user_withdraw")) == 200
    await oa.channel.work.wait()
    assert await _rows_about(oa.runtime, USER) == {"users": 0, "message_refs": 0, "outbox": 0}
    assert len(oa.fake.oa_sent) == sent_before, "nothing is sent to someone who left"

    stranger = load_event("oa_user_withdraw")
    stranger["sender"]["id"] = "1357924680135792468"
    assert await oa.post(stranger) == 200
    await oa.channel.work.wait()
    async with oa.runtime.db.transaction() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 0


async def test_user_withdraw_without_a_user_is_refused(oa: OA) -> None:
    event = load_event("oa_user_withdraw")
    del event["sender"]
    assert await oa.post(event) == 400


@BOTH
async def test_follow_and_unfollow_store_nothing(oa: OA) -> None:
    assert await oa.post(load_event("oa_follow")) == 200
    assert await oa.post(load_event("oa_unfollow")) == 200
    await oa.channel.work.wait()
    assert await _rows_about(oa.runtime, USER) == {"users": 0, "message_refs": 0, "outbox": 0}
    assert oa.fake.oa_sent == []

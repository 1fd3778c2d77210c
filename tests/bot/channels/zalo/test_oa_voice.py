"""Voice on Zalo OA end to end: a signed ``user_send_audio`` event whose
attachment URL serves a real M4A note, fetched into memory by the ASR client
with no credentials, transcribed by the stand-in and answered like text."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import add_configured_channels, build_app
from bot.channels.zalo.oa import ZaloOAChannel
from bot.channels.zalo.oa_events import parse_event
from bot.runtime import build_runtime
from tests.bot.channels.zalo.test_oa_webhook import OA, OA_KEY, USER
from tests.conftest import make_settings
from tests.fakes.asr_api import FakeASR, fixture_audio
from tests.fakes.zalo_api import FakeZalo, load_event


@pytest.fixture
async def asr() -> AsyncIterator[FakeASR]:
    async with FakeASR() as fake:
        fake.learn_fixtures()
        yield fake


@pytest.fixture
async def oa(sqlite_url: str, tmp_path: Path, asr: FakeASR) -> AsyncIterator[OA]:
    async with FakeZalo() as fake:
        access, refresh = fake.issue_pair()
        settings = make_settings(
            sqlite_url,
            tmp_path,
            zalo_app_id=fake.app_id,
            zalo_app_secret=fake.app_secret,
            zalo_oa_secret_key=OA_KEY,
            zalo_oa_access_token=access,
            zalo_oa_refresh_token=refresh,
            zalo_oa_api_base_url=fake.url,
            zalo_oauth_base_url=fake.url,
            asr_url=asr.url,
            asr_model="vinai/PhoWhisper-small",
            asr_timeout=2.0,
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


async def speak(oa: OA, url: str) -> list[str]:
    """She sends a voice note; the texts the OA sent her back."""
    before = len(oa.fake.oa_sent)
    event = load_event("oa_user_send_audio", msg_id=uuid.uuid4().hex, sender_id=USER)
    event["message"]["attachments"][0]["payload"]["url"] = url
    assert await oa.post(event) == 200
    await oa.channel.work.wait()
    return [m.text for m in oa.fake.oa_sent[before:] if m.user_id == USER]


def test_the_audio_url_is_read_from_the_event() -> None:
    event = parse_event(load_event("oa_user_send_audio"))
    assert event is not None and event.attachment == "voice"
    assert event.audio_url == "https://example.invalid/voice.m4a"
    assert "example.invalid" not in repr(event)  # never in a log line by accident


async def test_spoken_danger_on_zalo_gets_113_first(oa: OA, asr: FakeASR) -> None:
    said = await speak(oa, asr.serve(fixture_audio("cuu_toi_voi.m4a")))
    assert said and "113" in said[0], said
    assert any("Mình nghe được" in t and "Cứu tôi với" in t for t in said[1:]), said
    [request] = asr.requests
    assert request.filename == "voice.m4a" and request.content_type == "audio/mp4"
    # Zalo's media URL was fetched once, with no credentials.
    assert [m.authorization for m in asr.media_requests] == [None]


async def test_spoken_question_on_zalo(oa: OA, asr: FakeASR) -> None:
    said = await speak(oa, asr.serve(fixture_audio("hoi_ly_hon.m4a")))
    assert "Mình nghe được" in said[0] and "ly hôn" in said[0], said
    assert len(said) >= 2 and "chỉ đọc được tin nhắn chữ" not in "\n".join(said)


async def test_zalo_voice_with_backend_down_gets_text_only(oa: OA, asr: FakeASR) -> None:
    asr.fail_statuses = [503] * 5
    said = await speak(oa, asr.serve(fixture_audio("hoi_ly_hon.m4a")))
    joined = "\n".join(said)
    assert "chỉ đọc được tin nhắn chữ" in joined and "Mình nghe được" not in joined


async def test_zalo_voice_whose_url_fails_gets_text_only(oa: OA, asr: FakeASR) -> None:
    said = await speak(oa, f"{asr.url}/media/missing")
    assert "chỉ đọc được tin nhắn chữ" in "\n".join(said)
    assert asr.requests == []

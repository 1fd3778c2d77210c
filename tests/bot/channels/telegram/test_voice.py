"""Voice notes on Telegram end to end: the real python-telegram-bot
application downloads the OGG/Opus note from the Bot API stand-in (getFile,
then the file URL), the real ASR client uploads it to the speech-to-text
stand-in, and the transcript is answered like typed text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import add_configured_channels, build_app
from bot.channels.telegram import TelegramChannel
from bot.runtime import Runtime, build_runtime
from tests.conftest import free_port, make_settings
from tests.fakes.asr_api import FakeASR, fixture_audio
from tests.fakes.telegram_api import ChatMessage, FakeTelegramAPI

HER = 555000222
HEARD_VI = "Mình nghe được"
TEXT_ONLY_VI = "chỉ đọc được tin nhắn chữ"


@dataclass
class Voice:
    api: FakeTelegramAPI
    asr: FakeASR
    runtime: Runtime
    channel: TelegramChannel

    async def send(self, update: dict[str, Any], chat: int = HER) -> list[ChatMessage]:
        before = len(self.api.sent_to(chat))
        await self.api.push_update(update)
        await self.api.wait_until(lambda: self.api.pending_updates == 0)
        await asyncio.wait_for(self.channel.wait_idle(), timeout=20)
        return self.api.sent_to(chat)[before:]

    async def speak(self, fixture: str, chat: int = HER) -> list[ChatMessage]:
        return await self.send(self.api.voice_message(chat, fixture_audio(fixture)), chat)


async def _voice(
    database_url: str, tmp_path: Path, *, asr_url: str | None, **extra: Any
) -> AsyncIterator[Voice]:
    async with FakeTelegramAPI() as api, FakeASR() as asr:
        asr.learn_fixtures()
        port = free_port()
        settings = make_settings(
            database_url,
            tmp_path,
            http_port=port,
            telegram_bot_token=api.token,
            telegram_api_base_url=api.base_url,
            asr_url=asr_url or (asr.url if asr_url is None else None),
            asr_model="Systran/faster-whisper-large-v3",
            asr_timeout=2.0,
            **extra,
        )
        runtime = await build_runtime(settings)
        add_configured_channels(runtime)
        channel = next(c for c in runtime.channels if isinstance(c, TelegramChannel))
        runner = web.AppRunner(build_app(runtime), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await channel.start()
        try:
            yield Voice(api, asr, runtime, channel)
        finally:
            await channel.stop()
            await runner.cleanup()
            await runtime.close()


@pytest.fixture
async def voice(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Voice]:
    async for v in _voice(sqlite_url, tmp_path, asr_url=None):
        yield v


def database_bytes(directory: Path) -> bytes:
    """The SQLite file and its WAL, as they are on disk."""
    return b"".join(p.read_bytes() for p in sorted(directory.glob("*.db*")))


def texts(messages: list[ChatMessage]) -> list[str]:
    return [m.text or "" for m in messages]


async def test_spoken_danger_gets_113_in_the_first_reply(voice: Voice) -> None:
    replies = await voice.speak("cuu_toi_voi.ogg")
    said = texts(replies)
    assert said, "a voice note is answered"
    assert "113" in said[0], said
    # What was understood comes after the 113 answer, so she can correct it.
    assert any(HEARD_VI in t and "Cứu tôi với" in t for t in said[1:]), said
    # PTB fetched the file from Telegram once; the backend got real OGG/Opus.
    assert len(voice.api.calls_to("getFile")) == 1 and len(voice.api.downloads) == 1
    [request] = voice.asr.requests
    assert request.filename == "voice.ogg" and request.content_type == "audio/ogg"
    assert request.fields["language"] == "vi"


async def test_spoken_question_is_answered_like_typed_text(voice: Voice) -> None:
    replies = await voice.speak("hoi_ly_hon.ogg")
    said = texts(replies)
    assert HEARD_VI in said[0] and "thủ tục ly hôn" in said[0], said
    assert not said[0].lstrip().startswith("113")
    # The answer is the one the same words get when typed.
    typed = await voice.send(voice.api.user_message(HER + 1, FIXTURE_QUESTION), HER + 1)
    assert [m.text for m in replies[1:]] == [m.text for m in typed]
    assert TEXT_ONLY_VI not in "\n".join(said)


FIXTURE_QUESTION = "Xin chào, tôi muốn hỏi về thủ tục ly hôn"


async def test_backend_down_gives_the_text_only_answer(voice: Voice) -> None:
    voice.asr.fail_statuses = [500, 500, 500, 500]
    replies = await voice.speak("hoi_ly_hon.ogg")
    said = "\n".join(texts(replies))
    assert TEXT_ONLY_VI in said and HEARD_VI not in said


async def test_backend_hanging_gives_the_text_only_answer_quickly(voice: Voice) -> None:
    voice.asr.hang = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    replies = await voice.speak("cuu_toi_voi.ogg")
    assert TEXT_ONLY_VI in "\n".join(texts(replies))
    assert loop.time() - started < 10  # HELPLINE_ASR_TIMEOUT=2 here, never the default wait


async def test_without_a_backend_voice_gets_the_text_only_answer(
    sqlite_url: str, tmp_path: Path
) -> None:
    async for v in _voice(sqlite_url, tmp_path, asr_url=""):
        assert v.runtime.asr is None and v.runtime.engine.transcriber is None
        replies = await v.speak("cuu_toi_voi.ogg")
        assert TEXT_ONLY_VI in "\n".join(texts(replies))
        assert v.api.downloads == [] and v.asr.requests == []  # nothing fetched


async def test_voice_leaves_nothing_in_logs_or_the_database(
    voice: Voice, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    update = voice.api.voice_message(HER, fixture_audio("hoi_ly_hon.ogg"))
    file_id = update["message"]["voice"]["file_id"]
    await voice.send(update)
    voice.asr.fail_statuses = [500]
    await voice.speak("cuu_toi_voi.ogg")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "bot.engine" in {r.name for r in caplog.records}  # the turn was logged...
    for secret in ("ly hôn", "Cứu tôi", file_id, str(HER), voice.api.token):
        assert secret not in logged  # ...without words, ids or the file
    await voice.runtime.engine.stats.flush()
    await voice.runtime.engine.message_refs.flush()
    raw = database_bytes(tmp_path)
    assert raw, "the SQLite database is on disk"
    for secret in ("ly hôn", "Cứu tôi", "ly hon", file_id):
        assert secret.encode() not in raw
    assert b"OggS" not in raw and fixture_audio("hoi_ly_hon.ogg")[:64] not in raw


async def test_metrics_count_voice_outcomes_without_content(voice: Voice) -> None:
    await voice.speak("hoi_ly_hon.ogg")
    voice.asr.fail_statuses = [500]
    await voice.speak("hoi_ly_hon.ogg")
    # /metrics as the loopback-only metrics port serves it (the public port: tests/security).
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import build_metrics_app

    client = TestClient(TestServer(build_metrics_app(voice.runtime)))
    await client.start_server()
    try:
        body = await (await client.get("/metrics")).text()
    finally:
        await client.close()
    assert 'helpline_voice_transcriptions{outcome="ok"} 1.0' in body
    assert 'helpline_voice_transcriptions{outcome="server_error"} 1.0' in body
    assert "ly hôn" not in body

"""Speech to text against the stand-in server, over real HTTP with real audio.

The fixtures are OGG/Opus and M4A voice notes made with espeak-ng and ffmpeg
(tests/fixtures/audio/make.sh); the stand-in checks they are audio and answers
the transcript the test chose. What a user would notice: she gets understood,
or promptly gets today's text-only answer — and her voice is never kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, File

from bot.asr import (
    ASRClient,
    ASRFailure,
    CircuitBreaker,
    Transcript,
    audio_duration,
    build_asr,
    endpoint_url,
    sniff_audio,
)
from bot.settings import SettingsError, load_settings
from tests.fakes.asr_api import FIXTURE_TEXTS, FakeASR, fixture_audio, sha256

CRY = fixture_audio("cuu_toi_voi.ogg")
CRY_M4A = fixture_audio("cuu_toi_voi.m4a")
QUESTION = fixture_audio("hoi_ly_hon.ogg")
QUESTION_M4A = fixture_audio("hoi_ly_hon.m4a")


@pytest.fixture
async def fake() -> AsyncIterator[FakeASR]:
    async with FakeASR() as server:
        server.learn_fixtures()
        yield server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(fake: FakeASR, **kwargs: Any) -> ASRClient:
    kwargs.setdefault("timeout", 5.0)
    return ASRClient(fake.url, "vinai/PhoWhisper-small", **kwargs)


# -- the happy path -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIXTURE_TEXTS))
async def test_voice_note_is_transcribed(fake: FakeASR, name: str) -> None:
    asr = client(fake)
    try:
        result = await asr.transcribe(fixture_audio(name))
    finally:
        await asr.close()
    assert isinstance(result, Transcript)
    assert result.text == FIXTURE_TEXTS[name]
    assert result.audio_seconds is not None and 0.5 < result.audio_seconds < 5
    assert asr.outcomes["ok"] == 1


async def test_multipart_upload_is_the_openai_shape(fake: FakeASR) -> None:
    asr = client(fake)
    try:
        await asr.transcribe(CRY)
        await asr.transcribe(QUESTION_M4A)
    finally:
        await asr.close()
    ogg, m4a = fake.requests
    assert ogg.path == "/v1/audio/transcriptions"
    assert ogg.fields == {
        "model": "vinai/PhoWhisper-small",
        "language": "vi",
        "response_format": "json",
    }
    assert (ogg.filename, ogg.content_type) == ("voice.ogg", "audio/ogg")
    assert (ogg.audio_sha256, ogg.audio_size) == (sha256(CRY), len(CRY))
    assert (m4a.filename, m4a.content_type) == ("voice.m4a", "audio/mp4")
    assert m4a.audio_sha256 == sha256(QUESTION_M4A)
    assert ogg.authorization is None


async def test_language_auto_leaves_detection_to_the_backend(fake: FakeASR) -> None:
    asr = client(fake, language=None)
    try:
        assert isinstance(await asr.transcribe(CRY), Transcript)
    finally:
        await asr.close()
    assert "language" not in fake.requests[0].fields


async def test_bearer_token_is_sent_and_required(fake: FakeASR) -> None:
    fake.token = "s3cret-token"
    with_token = client(fake, token="s3cret-token")
    without = client(fake)
    try:
        assert isinstance(await with_token.transcribe(CRY), Transcript)
        assert await without.transcribe(CRY) is ASRFailure.SERVER_ERROR
    finally:
        await with_token.close()
        await without.close()
    assert fake.requests[0].authorization == "Bearer s3cret-token"


async def test_whisper_cpp_inference_path_is_used_as_given(fake: FakeASR) -> None:
    asr = ASRClient(fake.url + "/inference", "ignored-by-whisper-cpp", timeout=5)
    try:
        result = await asr.transcribe(QUESTION)
    finally:
        await asr.close()
    assert isinstance(result, Transcript) and result.text == FIXTURE_TEXTS["hoi_ly_hon.ogg"]
    assert fake.requests[0].path == "/inference"


def test_endpoint_url_forms() -> None:
    assert endpoint_url("http://asr:8000") == "http://asr:8000/v1/audio/transcriptions"
    assert endpoint_url("http://asr:8000/") == "http://asr:8000/v1/audio/transcriptions"
    assert endpoint_url("http://asr:8000/v1") == "http://asr:8000/v1/audio/transcriptions"
    assert endpoint_url("https://h/x/v1/") == "https://h/x/v1/audio/transcriptions"
    assert endpoint_url("http://asr:8080/inference") == "http://asr:8080/inference"
    full = "http://asr:8000/v1/audio/transcriptions"
    assert endpoint_url(full) == full


async def test_transcript_is_cleaned_to_one_line(fake: FakeASR) -> None:
    fake.learn(CRY, "  Cứu tôi\n với  ")
    asr = client(fake)
    try:
        result = await asr.transcribe(CRY)
    finally:
        await asr.close()
    assert isinstance(result, Transcript) and result.text == "Cứu tôi với"


# -- failures: each one fast, typed, and the caller falls back ------------------------


async def test_hanging_backend_times_out_fast(fake: FakeASR) -> None:
    fake.hang = True
    asr = client(fake, timeout=0.5)
    try:
        started = time.monotonic()
        result = await asr.transcribe(CRY)
        elapsed = time.monotonic() - started
    finally:
        await asr.close()
    assert result is ASRFailure.TIMEOUT
    assert elapsed < 2.0
    assert len(fake.requests) == 1  # the upload reached it; the answer never came


async def test_waiting_for_a_busy_slot_counts_against_the_timeout(fake: FakeASR) -> None:
    fake.delay = 0.8
    asr = client(fake, timeout=1.2, max_concurrent=1)
    try:
        started = time.monotonic()
        first, second = await asyncio.gather(asr.transcribe(CRY), asr.transcribe(QUESTION))
        elapsed = time.monotonic() - started
    finally:
        await asr.close()
    assert isinstance(first, Transcript)
    assert second is ASRFailure.TIMEOUT
    assert elapsed < 2.0


async def test_server_error_is_a_failure_and_the_next_call_works(fake: FakeASR) -> None:
    fake.fail_statuses = [500]
    asr = client(fake)
    try:
        assert await asr.transcribe(CRY) is ASRFailure.SERVER_ERROR
        assert isinstance(await asr.transcribe(CRY), Transcript)
    finally:
        await asr.close()


async def test_refused_connection_is_a_server_error() -> None:
    async with FakeASR() as gone:
        url = gone.url
    asr = ASRClient(url, "m", timeout=5)
    try:
        started = time.monotonic()
        assert await asr.transcribe(CRY) is ASRFailure.SERVER_ERROR
        assert time.monotonic() - started < 2.0
    finally:
        await asr.close()


async def test_body_that_is_not_a_transcript_is_a_server_error(fake: FakeASR) -> None:
    asr = client(fake)
    try:
        fake.learn(CRY, "")  # stand-in then answers {"text": ""}
        assert await asr.transcribe(CRY) is ASRFailure.EMPTY
        fake.fail_statuses = [404]  # a wrong model id or path
        assert await asr.transcribe(CRY) is ASRFailure.SERVER_ERROR
        fake.fail_statuses = [200]  # whisper.cpp: {"error": ...} with status 200
        assert await asr.transcribe(CRY) is ASRFailure.SERVER_ERROR
    finally:
        await asr.close()


async def test_too_large_is_refused_before_upload(fake: FakeASR) -> None:
    asr = client(fake, max_bytes=len(QUESTION) - 1)
    try:
        assert await asr.transcribe(QUESTION) is ASRFailure.TOO_LARGE
        assert isinstance(await asr.transcribe(CRY), Transcript)
    finally:
        await asr.close()
    assert [r.audio_sha256 for r in fake.requests] == [sha256(CRY)]


async def test_too_long_is_refused_before_upload(fake: FakeASR) -> None:
    asr = client(fake, max_seconds=2.0)
    try:
        # Read from the container: the question lasts about 3.3 s.
        assert await asr.transcribe(QUESTION_M4A) is ASRFailure.TOO_LONG
        assert await asr.transcribe(QUESTION) is ASRFailure.TOO_LONG
        # The platform's own figure wins when given (Telegram Voice.duration).
        assert await asr.transcribe(CRY, duration=60) is ASRFailure.TOO_LONG
        assert isinstance(await asr.transcribe(CRY), Transcript)
    finally:
        await asr.close()
    assert len(fake.requests) == 1


async def test_bytes_that_are_not_audio_are_not_uploaded(fake: FakeASR) -> None:
    asr = client(fake)
    try:
        page = b"<!DOCTYPE html><html><body>Not found</body></html>"
        assert await asr.transcribe(page) is ASRFailure.NOT_AUDIO
        assert await asr.transcribe(b"") is ASRFailure.NOT_AUDIO
    finally:
        await asr.close()
    assert fake.requests == []


async def test_backend_413_is_too_large(fake: FakeASR) -> None:
    fake.fail_statuses = [413, 413, 413, 413]
    asr = client(fake)
    try:
        for _ in range(4):
            assert await asr.transcribe(CRY) is ASRFailure.TOO_LARGE
    finally:
        await asr.close()
    assert asr.breaker.state == "closed"  # the audio's fault, not the backend's


# -- circuit breaker ------------------------------------------------------------------


async def test_breaker_opens_after_repeated_failures_and_recovers(fake: FakeASR) -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=30, clock=clock)
    asr = client(fake, breaker=breaker)
    try:
        fake.fail_statuses = [500, 502, 503]
        for _ in range(3):
            assert await asr.transcribe(CRY) is ASRFailure.SERVER_ERROR
        assert breaker.state == "open"
        # While open nothing is sent, and the answer is immediate.
        started = time.monotonic()
        assert await asr.transcribe(CRY) is ASRFailure.UNAVAILABLE
        assert time.monotonic() - started < 0.2
        assert len(fake.requests) == 3
        # After the cooldown one trial goes through; it fails: open again.
        clock.now += 31
        fake.fail_statuses = [500]
        assert await asr.transcribe(CRY) is ASRFailure.SERVER_ERROR
        assert await asr.transcribe(CRY) is ASRFailure.UNAVAILABLE
        assert len(fake.requests) == 4
        # Next trial succeeds: closed, everything flows again.
        clock.now += 31
        assert isinstance(await asr.transcribe(CRY), Transcript)
        assert breaker.state == "closed"
        assert isinstance(await asr.transcribe(QUESTION), Transcript)
    finally:
        await asr.close()
    assert asr.outcomes["unavailable"] == 2


async def test_timeouts_open_the_breaker(fake: FakeASR) -> None:
    fake.hang = True
    breaker = CircuitBreaker(threshold=2, cooldown=60, clock=Clock())
    asr = client(fake, timeout=0.3, breaker=breaker)
    try:
        assert await asr.transcribe(CRY) is ASRFailure.TIMEOUT
        assert await asr.transcribe(CRY) is ASRFailure.TIMEOUT
        assert await asr.transcribe(CRY) is ASRFailure.UNAVAILABLE
        assert await asr.transcribe_url(fake.serve(CRY_M4A)) is ASRFailure.UNAVAILABLE
    finally:
        await asr.close()
    assert fake.media_requests == []  # no download for a backend known to be down


def test_half_open_lets_only_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.failure()
    assert not breaker.allow()
    clock.now += 10
    assert breaker.allow()
    assert not breaker.allow()  # a second message while the trial is out
    breaker.success()
    assert breaker.allow() and breaker.allow()


async def test_cancelled_trial_does_not_keep_the_breaker_shut(fake: FakeASR) -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=30, clock=clock)
    asr = client(fake, breaker=breaker)
    try:
        fake.fail_statuses = [500]
        assert await asr.transcribe(CRY) is ASRFailure.SERVER_ERROR
        clock.now += 31
        fake.delay = 5
        trial = asyncio.create_task(asr.transcribe(CRY))
        async with asyncio.timeout(5):
            await fake.wait_for_requests(2)
        trial.cancel()  # e.g. the bot shuts down mid-call
        with pytest.raises(asyncio.CancelledError):
            await trial
        fake.delay = 0
        assert isinstance(await asr.transcribe(QUESTION), Transcript)
        assert breaker.state == "closed"
    finally:
        await asr.close()


def test_a_trial_that_never_reports_back_expires() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.failure()
    clock.now += 10
    assert breaker.allow()
    clock.now += 5
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()


# -- fetching audio by URL (Zalo OA user_send_audio) ----------------------------------


async def test_fetch_then_transcribe_zalo_audio(fake: FakeASR) -> None:
    asr = client(fake, token="backend-token")
    try:
        result = await asr.transcribe_url(fake.serve(CRY_M4A, "audio/mp4"))
    finally:
        await asr.close()
    assert isinstance(result, Transcript) and result.text == "Cứu tôi với"
    assert fake.requests[0].audio_sha256 == sha256(CRY_M4A)
    # The backend's token never goes to the platform's media server.
    assert [m.authorization for m in fake.media_requests] == [None]


async def test_fetch_refuses_too_large_by_header_and_while_reading(fake: FakeASR) -> None:
    asr = client(fake, max_bytes=len(QUESTION_M4A) - 1)
    try:
        assert await asr.fetch(fake.serve(QUESTION_M4A)) is ASRFailure.TOO_LARGE
        chunked = fake.serve(QUESTION_M4A, chunked=True)
        assert await asr.fetch(chunked) is ASRFailure.TOO_LARGE
        assert await asr.fetch(fake.serve(CRY_M4A), size_hint=10**9) is ASRFailure.TOO_LARGE
        assert await asr.fetch(fake.serve(CRY_M4A, chunked=True)) == CRY_M4A
    finally:
        await asr.close()
    assert len(fake.media_requests) == 3  # the size hint saved a download


async def test_fetch_failures_are_fast_and_typed(fake: FakeASR) -> None:
    asr = client(fake, fetch_timeout=0.5)
    try:
        started = time.monotonic()
        assert await asr.fetch(fake.serve(CRY_M4A, hang=True)) is ASRFailure.FETCH_FAILED
        assert time.monotonic() - started < 2.0
        assert await asr.fetch(fake.url + "/media/nope") is ASRFailure.FETCH_FAILED
        assert await asr.fetch("file:///etc/passwd") is ASRFailure.FETCH_FAILED
        assert await asr.transcribe_url("ftp://example/voice.m4a") is ASRFailure.FETCH_FAILED
    finally:
        await asr.close()
    assert asr.breaker.state == "closed"  # a platform hiccup says nothing about the backend
    assert fake.requests == []


# -- clips the platform's own client downloads (Telegram voice through PTB) ----------


def telegram_voice_file(bot: Bot, url: str, audio: bytes) -> File:
    """What ``await voice.get_file()`` returns: PTB's File, its path a full URL."""
    file = File("voice-file-id", "voice-unique-id", file_size=len(audio), file_path=url)
    file.set_bot(bot)
    return file


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot("123456:fake-token")
    await bot.request.initialize()
    yield bot
    await bot.request.shutdown()


async def test_telegram_voice_downloaded_by_ptb_is_transcribed(fake: FakeASR, bot: Bot) -> None:
    file = telegram_voice_file(bot, fake.serve(CRY, "audio/ogg"), CRY)
    asr = client(fake)
    try:
        result = await asr.transcribe_download(
            file.download_as_bytearray, size_hint=file.file_size, duration=1
        )
    finally:
        await asr.close()
    assert isinstance(result, Transcript) and result.text == "Cứu tôi với"
    assert result.audio_seconds == 1
    assert fake.requests[0].audio_sha256 == sha256(CRY)


async def test_platform_figures_refuse_before_any_download(fake: FakeASR, bot: Bot) -> None:
    file = telegram_voice_file(bot, fake.serve(QUESTION, "audio/ogg"), QUESTION)
    breaker = CircuitBreaker(threshold=1, cooldown=60, clock=Clock())
    asr = client(fake, max_bytes=len(QUESTION) - 1, max_seconds=120, breaker=breaker)
    try:
        download = file.download_as_bytearray
        too_large = await asr.transcribe_download(download, size_hint=len(QUESTION))
        assert too_large is ASRFailure.TOO_LARGE
        assert await asr.transcribe_download(download, duration=600) is ASRFailure.TOO_LONG
        assert await asr.transcribe_url(file.file_path or "", duration=600) is ASRFailure.TOO_LONG
        breaker.failure()
        assert await asr.transcribe_download(download) is ASRFailure.UNAVAILABLE
    finally:
        await asr.close()
    assert fake.media_requests == [] and fake.requests == []


async def test_failed_or_slow_platform_download_is_fetch_failed(fake: FakeASR, bot: Bot) -> None:
    async def broken() -> bytes:
        raise RuntimeError("platform library error")

    hanging = telegram_voice_file(bot, fake.serve(CRY, "audio/ogg", hang=True), CRY)
    missing = telegram_voice_file(bot, fake.url + "/media/gone", CRY)
    asr = client(fake, fetch_timeout=0.5)
    try:
        assert await asr.transcribe_download(broken) is ASRFailure.FETCH_FAILED
        started = time.monotonic()
        slow = await asr.transcribe_download(hanging.download_as_bytearray)
        assert slow is ASRFailure.FETCH_FAILED
        assert time.monotonic() - started < 2.0
        gone = await asr.transcribe_download(missing.download_as_bytearray)
        assert gone is ASRFailure.FETCH_FAILED
    finally:
        await asr.close()
    assert asr.breaker.state == "closed" and fake.requests == []


# -- privacy: in memory only, nothing logged ------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_opened_for_writing: list[str] = []
_watching = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _watching or event != "open":
        return
    path, mode, flags = (*args, None, None, None)[:3]
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & _WRITE_FLAGS
    )
    if writing:
        _opened_for_writing.append(str(path))


sys.addaudithook(_audit)


@contextlib.contextmanager
def watching_writes() -> Iterator[list[str]]:
    """Every file the process opens for writing inside the block."""
    global _watching
    _opened_for_writing.clear()
    _watching = True
    try:
        yield _opened_for_writing
    finally:
        _watching = False


async def test_audio_is_never_written_to_disk_nor_logged(
    fake: FakeASR,
    bot: Bot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    tmp_before = set(os.listdir(tempfile.gettempdir()))
    # As bot.logs.configure does in production: PTB's HTTP library logs URLs.
    for noisy in ("httpx", "httpcore"):
        caplog.set_level(logging.WARNING, logger=noisy)
    caplog.set_level(logging.DEBUG)  # last: it also sets the capture handler's level
    breaker = CircuitBreaker(threshold=2, cooldown=60, clock=Clock())
    asr = client(fake, timeout=0.5, breaker=breaker)
    media_url = fake.serve(CRY_M4A)
    with watching_writes() as written:
        await voice_traffic(fake, asr, media_url, bot)
    assert written == []
    assert os.listdir(tmp_path) == []
    assert set(os.listdir(tempfile.gettempdir())) - tmp_before == set()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "asr: timeout" in logged and "breaker open" in logged  # outcomes are logged
    for secret in ("Cứu tôi", "ly hôn", media_url, "/media/", fake.url):
        assert secret not in logged


async def voice_traffic(fake: FakeASR, asr: ASRClient, media_url: str, bot: Bot) -> None:
    """Successes, downloads (ours and PTB's), an error, a timeout, an open breaker."""
    telegram = telegram_voice_file(bot, fake.serve(QUESTION, "audio/ogg"), QUESTION)
    try:
        assert isinstance(await asr.transcribe(CRY), Transcript)
        download = await asr.transcribe_download(telegram.download_as_bytearray)
        assert isinstance(download, Transcript)
        assert isinstance(await asr.transcribe_url(media_url), Transcript)
        fake.fail_statuses = [500]
        assert await asr.transcribe(QUESTION) is ASRFailure.SERVER_ERROR
        fake.hang = True
        assert await asr.transcribe(QUESTION_M4A) is ASRFailure.TIMEOUT
        assert await asr.transcribe(CRY) is ASRFailure.UNAVAILABLE
    finally:
        fake.hang = False
        await asr.close()


def test_transcript_repr_leaves_the_words_out() -> None:
    transcript = Transcript("Cứu tôi với", 1.2)
    assert "Cứu" not in repr(transcript) and "1.2" in repr(transcript)


# -- containers -----------------------------------------------------------------------


def test_containers_are_recognised_and_timed() -> None:
    ogg, m4a = sniff_audio(CRY), sniff_audio(CRY_M4A)
    assert ogg is not None and ogg.content_type == "audio/ogg"
    assert m4a is not None and m4a.content_type == "audio/mp4"
    for audio, seconds in ((CRY, 1.2), (CRY_M4A, 1.2), (QUESTION, 3.28), (QUESTION_M4A, 3.28)):
        measured = audio_duration(audio)
        assert measured is not None and abs(measured - seconds) < 0.05


@pytest.mark.parametrize(
    "junk",
    [b"OggS", b"OggS" + b"\xff" * 40, b"\0\0\0\x08ftyp", b"\0\0\0\x01ftypmoov", CRY[:200]],
)
def test_truncated_or_hostile_containers_do_not_raise(junk: bytes) -> None:
    audio_duration(junk)  # any answer, but no exception
    assert audio_duration(CRY_M4A[:30]) is None


# -- settings -------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in [k for k in os.environ if k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_env")
def test_no_asr_url_means_no_client(tmp_path: Path) -> None:
    assert build_asr(load_settings(data_dir=tmp_path)) is None


@pytest.mark.usefixtures("clean_env")
def test_asr_settings_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPLINE_ASR_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("HELPLINE_ASR_MODEL", "vinai/PhoWhisper-medium")
    monkeypatch.setenv("HELPLINE_ASR_TOKEN", "tok")
    monkeypatch.setenv("HELPLINE_ASR_TIMEOUT", "9")
    monkeypatch.setenv("HELPLINE_ASR_LANGUAGE", "auto")
    monkeypatch.setenv("HELPLINE_ASR_MAX_SECONDS", "60")
    asr = build_asr(load_settings(data_dir=tmp_path))
    assert asr is not None
    assert asr.url == "http://127.0.0.1:8000/v1/audio/transcriptions"
    assert (asr.model, asr.token, asr.timeout) == ("vinai/PhoWhisper-medium", "tok", 9.0)
    assert asr.language is None and asr.max_seconds == 60
    settings = load_settings(data_dir=tmp_path, asr_language="VI")
    assert settings.asr_language == "vi" and settings.asr_timeout == 9.0


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"asr_url": "http://asr:8000"}, "HELPLINE_ASR_MODEL"),
        ({"asr_url": "asr:8000", "asr_model": "m"}, "HELPLINE_ASR_URL"),
        ({"asr_timeout": 0}, "HELPLINE_ASR_TIMEOUT"),
        ({"asr_language": "vietnamese"}, "HELPLINE_ASR_LANGUAGE"),
        ({"asr_max_bytes": 10}, "HELPLINE_ASR_MAX_BYTES"),
    ],
)
def test_bad_asr_settings_name_the_variable(
    tmp_path: Path, overrides: dict[str, Any], variable: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}:"):
        load_settings(data_dir=tmp_path, **overrides)

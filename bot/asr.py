"""Speech to text for voice messages, through a self-hosted backend.

The backend speaks the OpenAI-compatible ``POST /v1/audio/transcriptions``
API (multipart ``file``, ``model``, ``language``, ``response_format=json``;
answer ``{"text": "..."}``), as faster-whisper-server / speaches, LocalAI,
vLLM and whisper.cpp's server do (whisper.cpp: see :func:`endpoint_url`).

Promises this module keeps (DESIGN §3, docs/voice.md):

- the audio stays in memory (``bytes``): it is never written to a file or the
  database, and neither the audio, its URL nor the transcript is logged —
  logs carry an outcome and a size class at most;
- every call ends within the configured timeout with either a
  :class:`Transcript` or an :class:`ASRFailure`, never an exception, so the
  caller can fall back to today's "text only" answer;
- after a few backend failures in a row a circuit breaker answers
  :attr:`ASRFailure.UNAVAILABLE` at once for a while, so a dead backend does
  not add its timeout to every voice message.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp

if TYPE_CHECKING:
    from bot.messages import VoiceClip
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: The OpenAI-compatible path appended to a bare ``HELPLINE_ASR_URL``.
TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions"
#: A transcript longer than this is cut: a voice note is not a novel, and the
#: engine reads typed text under a similar cap.
MAX_TRANSCRIPT_CHARS = 2000
_READ_CHUNK = 64 * 1024


class ASRFailure(StrEnum):
    """Why there is no transcript. The caller answers as for any voice
    message today (text only); the value is safe to log and to count."""

    #: No backend configured.
    DISABLED = "disabled"
    #: The breaker is open after repeated backend failures; nothing was sent.
    UNAVAILABLE = "unavailable"
    #: Bigger than the byte cap (refused before upload or download finished),
    #: or the backend answered 413.
    TOO_LARGE = "too_large"
    #: Longer than the duration cap; refused before upload.
    TOO_LONG = "too_long"
    #: The bytes are not a known audio container (an HTML error page, say).
    NOT_AUDIO = "not_audio"
    #: The backend did not answer within the timeout.
    TIMEOUT = "timeout"
    #: The backend refused the connection, answered an HTTP error or a body
    #: that is not ``{"text": ...}``.
    SERVER_ERROR = "server_error"
    #: The backend heard nothing (silence, noise).
    EMPTY = "empty"
    #: The audio could not be downloaded from the platform's URL.
    FETCH_FAILED = "fetch_failed"


#: Failures that say something about the backend's health (they count towards
#: opening the breaker); the others are about one message's audio.
_BACKEND_FAILURES = frozenset({ASRFailure.TIMEOUT, ASRFailure.SERVER_ERROR})


@dataclass(frozen=True)
class Transcript:
    """What the backend understood. ``repr`` leaves the text out, so a
    transcript that ends up in a log line or a traceback does not leak."""

    text: str = field(repr=False)
    #: Length of the audio in seconds, when the caller or the container said.
    audio_seconds: float | None = None


ASRResult = Transcript | ASRFailure
_R = TypeVar("_R", bound=Transcript | ASRFailure | bytes)


# -- audio containers -----------------------------------------------------------------


@dataclass(frozen=True)
class AudioKind:
    content_type: str
    extension: str


def sniff_audio(data: bytes) -> AudioKind | None:
    """The audio container by its magic bytes, or None if it is not audio we
    know. Telegram voice is OGG/Opus; Zalo audio is usually M4A (MP4/AAC)."""
    head = data[:12]
    if head.startswith(b"OggS"):
        return AudioKind("audio/ogg", "ogg")
    if head[4:8] == b"ftyp":
        return AudioKind("audio/mp4", "m4a")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return AudioKind("audio/wav", "wav")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return AudioKind("audio/webm", "webm")
    if head.startswith(b"#!AMR"):
        return AudioKind("audio/amr", "amr")
    if head.startswith(b"fLaC"):
        return AudioKind("audio/flac", "flac")
    if head.startswith(b"ID3"):
        return AudioKind("audio/mpeg", "mp3")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        if head[1] & 0xF6 == 0xF0:  # MPEG-2/4 ADTS: layer bits 00
            return AudioKind("audio/aac", "aac")
        return AudioKind("audio/mpeg", "mp3")
    return None


def audio_duration(data: bytes) -> float | None:
    """Seconds of audio read from the container header (OGG Opus/Vorbis, MP4,
    WAV), or None when unknown. Never raises: the bytes come from strangers."""
    try:
        if data.startswith(b"OggS"):
            return _ogg_duration(data)
        if data[4:8] == b"ftyp":
            return _mp4_duration(data)
        if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
            return _wav_duration(data)
    except (struct.error, IndexError, ValueError, ZeroDivisionError):
        return None
    return None


def _ogg_duration(data: bytes) -> float | None:
    # The first page carries the codec header; the last page's granule
    # position counts samples (always at 48 kHz for Opus).
    last = data.rfind(b"OggS")
    if last < 0 or last + 14 > len(data):
        return None
    granule = struct.unpack_from("<q", data, last + 6)[0]
    if granule < 0:
        return None
    opus = data.find(b"OpusHead", 0, 512)
    if opus >= 0:
        pre_skip = int(struct.unpack_from("<H", data, opus + 10)[0])
        return max(0.0, (int(granule) - pre_skip) / 48000)
    vorbis = data.find(b"\x01vorbis", 0, 512)
    if vorbis >= 0:
        rate = struct.unpack_from("<I", data, vorbis + 12)[0]
        return granule / rate if rate else None
    return None


def _mp4_boxes(data: bytes, start: int, end: int) -> dict[bytes, tuple[int, int]]:
    """Child boxes of one level: type → (payload start, box end)."""
    boxes: dict[bytes, tuple[int, int]] = {}
    pos = start
    for _ in range(256):  # a voice note has a handful of boxes; bound the walk
        if pos + 8 > end:
            break
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            break
        boxes.setdefault(kind, (pos + header, min(pos + size, end)))
        pos += size
    return boxes


def _mp4_duration(data: bytes) -> float | None:
    moov = _mp4_boxes(data, 0, len(data)).get(b"moov")
    if moov is None:
        return None
    mvhd = _mp4_boxes(data, *moov).get(b"mvhd")
    if mvhd is None:
        return None
    pos = mvhd[0]
    if data[pos] == 1:
        timescale, duration = struct.unpack_from(">IQ", data, pos + 20)
    else:
        timescale, duration = struct.unpack_from(">II", data, pos + 12)
    return duration / timescale if timescale else None


def _wav_duration(data: bytes) -> float | None:
    pos, byte_rate = 12, 0
    for _ in range(64):
        if pos + 8 > len(data):
            break
        kind, size = struct.unpack_from("<4sI", data, pos)
        if kind == b"fmt ":
            byte_rate = struct.unpack_from("<I", data, pos + 16)[0]
        elif kind == b"data":
            return size / byte_rate if byte_rate else None
        pos += 8 + size + (size & 1)
    return None


# -- circuit breaker ------------------------------------------------------------------


class CircuitBreaker:
    """Closed → open after ``threshold`` failures in a row; after ``cooldown``
    seconds one trial call goes through (half open): success closes it,
    failure opens it again for another cooldown."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        #: When the half-open trial call started; a trial that never reported
        #: back (a crash) stops blocking after another cooldown.
        self._trial_at: float | None = None

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call go to the backend now? In half-open state, only one."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open":
            now = self._clock()
            if self._trial_at is None or now - self._trial_at >= self.cooldown:
                self._trial_at = now
                return True
        return False

    def success(self) -> None:
        if self._opened_at is not None:
            log.info("asr backend answers again; breaker closed")
        self._failures = 0
        self._opened_at = None
        self._trial_at = None

    def failure(self) -> None:
        self._failures += 1
        was_trial, self._trial_at = self._trial_at is not None, None
        if was_trial or self._failures >= self.threshold:
            if self._opened_at is None or was_trial:
                log.warning("asr backend failing; breaker open for %.0f s", self.cooldown)
            self._opened_at = self._clock()

    def release(self) -> None:
        """A trial call ended without telling anything about the backend
        (it was cancelled)."""
        self._trial_at = None


# -- client ---------------------------------------------------------------------------


def endpoint_url(url: str) -> str:
    """The transcription endpoint for ``HELPLINE_ASR_URL``.

    A bare server address (``http://asr:8000``) or one ending in ``/v1`` gets
    the OpenAI path appended; any other path is used as given, which is how a
    whisper.cpp server started without ``--inference-path`` is reached
    (``http://asr:8080/inference`` takes the same multipart fields).
    """
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if path == "":
        path = TRANSCRIPTIONS_PATH
    elif path.endswith("/v1"):
        path += TRANSCRIPTIONS_PATH.removeprefix("/v1")
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


_SPACES = re.compile(r"\s+")


def clean_transcript(text: str) -> str:
    """One line, no surrounding space, capped: what the engine will read."""
    return _SPACES.sub(" ", text).strip()[:MAX_TRANSCRIPT_CHARS].strip()


class ASRClient:
    """Async client of one transcription backend. Create one per runtime;
    the HTTP session is created lazily on the running loop."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        token: str | None = None,
        language: str | None = "vi",
        timeout: float = 15.0,
        max_bytes: int = 8 * 1024 * 1024,
        max_seconds: float = 180.0,
        fetch_timeout: float = 10.0,
        max_concurrent: int = 4,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.url = endpoint_url(url)
        self.model = model
        self.token = token or None
        self.language = language or None
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.fetch_timeout = fetch_timeout
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        #: Outcomes so far ("ok" or an :class:`ASRFailure` value): for metrics.
        self.outcomes: collections.Counter[str] = collections.Counter()
        self._slots = asyncio.Semaphore(max(1, max_concurrent))
        self._session: aiohttp.ClientSession | None = None

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No cookie jar: nothing from one request follows another.
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _done(self, result: _R) -> _R:
        if isinstance(result, bytes):
            return result
        outcome = "ok" if isinstance(result, Transcript) else result.value
        self.outcomes[outcome] += 1
        if outcome != "ok":
            # An outcome only: never the audio, its URL or the transcript.
            log.info("asr: %s", outcome)
        return result

    def check(self, audio: bytes, duration: float | None = None) -> ASRFailure | None:
        """Why this audio would be refused before upload, or None."""
        if len(audio) > self.max_bytes:
            return ASRFailure.TOO_LARGE
        if sniff_audio(audio) is None:
            return ASRFailure.NOT_AUDIO
        seconds = duration if duration is not None else audio_duration(audio)
        if seconds is not None and seconds > self.max_seconds:
            return ASRFailure.TOO_LONG
        return None

    async def transcribe(self, audio: bytes, *, duration: float | None = None) -> ASRResult:
        """The transcript of ``audio`` (held in memory), or why not.

        ``duration`` is the platform's figure when it gives one (Telegram's
        ``Voice.duration``); otherwise it is read from the container. Ends
        within ``timeout`` seconds, waiting for a free slot included.
        """
        refused = self.check(audio, duration)
        if refused is not None:
            return self._done(refused)
        if not self.breaker.allow():
            return self._done(ASRFailure.UNAVAILABLE)
        seconds = duration if duration is not None else audio_duration(audio)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._slots:
                    result = await self._post(audio)
        except TimeoutError:
            result = ASRFailure.TIMEOUT
        except (aiohttp.ClientError, OSError):
            result = ASRFailure.SERVER_ERROR
        except asyncio.CancelledError:
            self.breaker.release()  # a cancelled trial must not keep the breaker shut
            raise
        if result in _BACKEND_FAILURES:
            self.breaker.failure()
        else:
            self.breaker.success()
        if isinstance(result, ASRFailure):
            return self._done(result)
        return self._done(Transcript(result.text, seconds))

    async def _post(self, audio: bytes) -> Transcript | ASRFailure:
        kind = sniff_audio(audio)
        assert kind is not None  # checked by the caller
        form = aiohttp.FormData()
        # A neutral file name: never the platform's, which may carry ids.
        form.add_field(
            "file", audio, filename=f"voice.{kind.extension}", content_type=kind.content_type
        )
        form.add_field("model", self.model)
        if self.language:
            form.add_field("language", self.language)
        form.add_field("response_format", "json")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        session = await self._get_session()
        async with session.post(self.url, data=form, headers=headers) as resp:
            if resp.status == 413:
                return ASRFailure.TOO_LARGE
            if resp.status != 200:
                return ASRFailure.SERVER_ERROR
            try:
                body = await resp.json(content_type=None)
            except (ValueError, UnicodeDecodeError):
                return ASRFailure.SERVER_ERROR
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return ASRFailure.SERVER_ERROR
        text = clean_transcript(body["text"])
        if not text:
            return ASRFailure.EMPTY
        return Transcript(text)

    async def fetch(self, url: str, *, size_hint: int | None = None) -> bytes | ASRFailure:
        """Download a voice message from the platform (Zalo OA's
        ``user_send_audio`` gives a URL) into memory, refusing more than
        ``max_bytes`` — by the announced size before reading, and by counting
        while reading. No Authorization header goes to this URL."""
        if urlsplit(url).scheme not in ("http", "https"):
            return self._done(ASRFailure.FETCH_FAILED)
        if size_hint is not None and size_hint > self.max_bytes:
            return self._done(ASRFailure.TOO_LARGE)
        try:
            session = await self._get_session()
            async with asyncio.timeout(self.fetch_timeout):
                async with session.get(url) as resp:
                    if resp.status != 200:
                        return self._done(ASRFailure.FETCH_FAILED)
                    if (resp.content_length or 0) > self.max_bytes:
                        return self._done(ASRFailure.TOO_LARGE)
                    chunks: list[bytes] = []
                    received = 0
                    async for chunk in resp.content.iter_chunked(_READ_CHUNK):
                        received += len(chunk)
                        if received > self.max_bytes:
                            return self._done(ASRFailure.TOO_LARGE)
                        chunks.append(chunk)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
            return self._done(ASRFailure.FETCH_FAILED)
        return b"".join(chunks)

    def _before_download(self, size_hint: int | None, duration: float | None) -> ASRFailure | None:
        """Refusals that save a download: a backend known to be down, or a
        clip the platform already says is too big or too long."""
        if self.breaker.state == "open":
            return ASRFailure.UNAVAILABLE
        if size_hint is not None and size_hint > self.max_bytes:
            return ASRFailure.TOO_LARGE
        if duration is not None and duration > self.max_seconds:
            return ASRFailure.TOO_LONG
        return None

    async def transcribe_url(
        self, url: str, *, size_hint: int | None = None, duration: float | None = None
    ) -> ASRResult:
        """:meth:`fetch` then :meth:`transcribe` (Zalo OA ``user_send_audio``)."""
        refused = self._before_download(size_hint, duration)
        if refused is not None:
            return self._done(refused)
        audio = await self.fetch(url)
        if isinstance(audio, ASRFailure):
            return audio
        return await self.transcribe(audio, duration=duration)

    async def transcribe_download(
        self,
        download: Callable[[], Awaitable[bytes | bytearray]],
        *,
        size_hint: int | None = None,
        duration: float | None = None,
    ) -> ASRResult:
        """Transcribe a clip the platform's own client downloads into memory,
        e.g. Telegram: ``lambda: file.download_as_bytearray()`` with
        ``size_hint=voice.file_size, duration=voice.duration``. The download
        gets ``fetch_timeout``; any error it raises is a :attr:`FETCH_FAILED`
        (the platform library's exception types are its own)."""
        refused = self._before_download(size_hint, duration)
        if refused is not None:
            return self._done(refused)
        try:
            async with asyncio.timeout(self.fetch_timeout):
                data = await download()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the platform library's own errors
            log.info("asr: audio download failed (%s)", type(exc).__name__)
            return self._done(ASRFailure.FETCH_FAILED)
        return await self.transcribe(bytes(data), duration=duration)

    async def transcribe_clip(self, clip: VoiceClip) -> str | None:
        """The engine's :class:`~bot.interfaces.Transcriber`: a clip the
        channel described (a URL or a download), its transcript or None."""
        if clip.download is not None:
            result = await self.transcribe_download(
                clip.download, size_hint=clip.size_hint, duration=clip.duration
            )
        elif clip.url:
            result = await self.transcribe_url(
                clip.url, size_hint=clip.size_hint, duration=clip.duration
            )
        else:
            return None
        return result.text if isinstance(result, Transcript) else None


def build_asr(settings: Settings) -> ASRClient | None:
    """The configured client, or None when ``HELPLINE_ASR_URL`` is unset (voice
    messages then get today's text-only answer)."""
    if not settings.asr_url or not settings.asr_model:
        return None
    language = settings.asr_language
    return ASRClient(
        settings.asr_url,
        settings.asr_model,
        token=settings.asr_token,
        language=None if language == "auto" else language,
        timeout=settings.asr_timeout,
        max_bytes=settings.asr_max_bytes,
        max_seconds=settings.asr_max_seconds,
        fetch_timeout=settings.asr_timeout,
    )

"""Local stand-in of a speech-to-text server, on 127.0.0.1 and a random port.

It plays the OpenAI-compatible ``POST /v1/audio/transcriptions`` endpoint
(the one faster-whisper-server / speaches, LocalAI and vLLM expose) and
whisper.cpp's ``POST /inference`` (same multipart fields): it reads the
multipart upload in memory, refuses bytes that are not audio (OGG needs its
``OggS`` page and an ``OpusHead``/``vorbis`` header, MP4 its ``ftyp`` box,
WAV its ``RIFF…WAVE``), and answers ``{"text": ...}`` with the transcript the
test chose for that audio (by sha256, see :meth:`FakeASR.learn`) or
:attr:`FakeASR.default_text`.

It also serves audio for download (``GET /media/{id}``), standing in for the
CDN a Zalo OA ``user_send_audio`` event points at.

Everything received is recorded (fields, file name, type, sha256 and size of
the audio — not the audio itself); it can be told to hang, to fail with an
HTTP status, or to demand a bearer token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web

AUDIO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "audio"


#: What each committed fixture says (tests/fixtures/audio/make.sh), as a
#: Vietnamese-capable backend would transcribe it.
FIXTURE_TEXTS: dict[str, str] = {
    "cuu_toi_voi.ogg": "Cứu tôi với",
    "cuu_toi_voi.m4a": "Cứu tôi với",
    "hoi_ly_hon.ogg": "Xin chào, tôi muốn hỏi về thủ tục ly hôn",
    "hoi_ly_hon.m4a": "Xin chào, tôi muốn hỏi về thủ tục ly hôn",
}


def fixture_audio(name: str) -> bytes:
    """A committed audio fixture (tests/fixtures/audio/<name>)."""
    return (AUDIO_DIR / name).read_bytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_audio(data: bytes) -> bool:
    """What a real decoder would at least insist on before decoding."""
    if data.startswith(b"OggS"):
        return b"OpusHead" in data[:512] or b"\x01vorbis" in data[:512]
    if data[4:8] == b"ftyp":
        return b"moov" in data
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return b"fmt " in data[:64]
    return False


@dataclass
class ASRRequest:
    path: str
    authorization: str | None
    #: The plain (non-file) form fields: model, language, response_format…
    fields: dict[str, str]
    filename: str | None
    content_type: str | None
    audio_sha256: str
    audio_size: int


@dataclass
class MediaRequest:
    media_id: str
    authorization: str | None


@dataclass
class FakeASR:
    #: Bearer token the server demands (401 otherwise); None = no check.
    token: str | None = None
    #: Transcript for audio the test did not :meth:`learn`; None → 422.
    default_text: str | None = None
    #: Seconds each transcription takes (a slow CPU backend).
    delay: float = 0.0
    #: Never answer transcription requests (they hang until the server closes).
    hang: bool = False
    #: HTTP statuses to answer the next transcription requests with, in order;
    #: 200 answers ``{"error": ...}`` with status 200, as whisper.cpp's server does.
    fail_statuses: list[int] = field(default_factory=list)

    transcripts: dict[str, str] = field(default_factory=dict)
    requests: list[ASRRequest] = field(default_factory=list)
    media_requests: list[MediaRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._media: dict[str, tuple[bytes, str, bool]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._arrived = asyncio.Event()
        self.port = 0

    # -- life cycle ---------------------------------------------------------------

    async def start(self) -> FakeASR:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/audio/transcriptions", self._transcribe)
        app.router.add_post("/inference", self._transcribe)
        app.router.add_get("/media/{media_id}", self._media_get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def close(self) -> None:
        self._closing.set()  # ends hanging handlers, so cleanup does not wait on them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeASR:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """What ``HELPLINE_ASR_URL`` is set to."""
        return f"http://127.0.0.1:{self.port}"

    # -- test controls ------------------------------------------------------------

    def learn(self, audio: bytes, text: str) -> None:
        """Answer ``text`` whenever exactly this audio is uploaded."""
        self.transcripts[sha256(audio)] = text

    async def wait_for_requests(self, count: int) -> None:
        """Until ``count`` transcription requests have arrived (wrap it in
        ``asyncio.timeout`` to bound the wait)."""
        while len(self.requests) < count:
            self._arrived.clear()
            await self._arrived.wait()

    def learn_fixtures(self) -> None:
        """Answer every committed fixture with what it says (FIXTURE_TEXTS)."""
        for name, text in FIXTURE_TEXTS.items():
            self.learn(fixture_audio(name), text)

    def serve(
        self,
        audio: bytes,
        content_type: str = "audio/mp4",
        *,
        hang: bool = False,
        chunked: bool = False,
    ) -> str:
        """A URL that downloads ``audio``; ``hang`` never sends the body,
        ``chunked`` leaves out Content-Length (the size is learnt by reading)."""
        media_id = f"m{next(self._ids)}"
        self._media[media_id] = (audio, content_type, hang)
        if chunked:
            self._media[media_id + "c"] = (audio, content_type, hang)
            return f"{self.url}/media/{media_id}c"
        return f"{self.url}/media/{media_id}"

    # -- handlers -----------------------------------------------------------------

    async def _transcribe(self, request: web.Request) -> web.StreamResponse:
        if self.token is not None:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return web.json_response({"error": "unauthorized"}, status=401)
        if not request.content_type.startswith("multipart/form-data"):
            return web.json_response({"error": "expected multipart/form-data"}, status=400)
        fields: dict[str, str] = {}
        audio: bytes | None = None
        filename = content_type = None
        # The multipart reader keeps parts in memory; ``request.post()`` would
        # spool file parts to a temporary file.
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                audio = bytes(await part.read())
                filename = part.filename
                content_type = part.headers.get("Content-Type")
            else:
                fields[part.name] = await part.text()
        if audio is None:
            return web.json_response({"error": "file is required"}, status=400)
        self.requests.append(
            ASRRequest(
                path=request.path,
                authorization=request.headers.get("Authorization"),
                fields=fields,
                filename=filename,
                content_type=content_type,
                audio_sha256=sha256(audio),
                audio_size=len(audio),
            )
        )
        self._arrived.set()
        if self.hang:
            await self._closing.wait()
            return web.Response(status=503)
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.delay)
        if self.fail_statuses:
            status = self.fail_statuses.pop(0)
            if status == 200:
                return web.json_response({"error": "failed to read WAV file"})
            return web.Response(status=status, text="backend failure")
        if request.path.startswith("/v1/") and not fields.get("model"):
            return web.json_response({"error": "model is required"}, status=400)
        if not is_audio(audio):
            return web.json_response({"error": "could not decode audio"}, status=400)
        text = self.transcripts.get(sha256(audio), self.default_text)
        if text is None:
            return web.json_response({"error": "no transcript for this audio"}, status=422)
        return web.json_response({"text": text})

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["media_id"]
        self.media_requests.append(MediaRequest(media_id, request.headers.get("Authorization")))
        found = self._media.get(media_id)
        if found is None:
            return web.Response(status=404)
        audio, content_type, hang = found
        response = web.StreamResponse(headers={"Content-Type": content_type})
        if not media_id.endswith("c"):
            response.content_length = len(audio)
        await response.prepare(request)
        if hang:
            await self._closing.wait()
            return response
        for start in range(0, len(audio), 16 * 1024):
            await response.write(audio[start : start + 16 * 1024])
        await response.write_eof()
        return response

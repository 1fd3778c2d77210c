"""Remote Rasa backend: ``POST {url}/model/parse``, falling back to the embedded model.

A deployment may run a full Rasa server on the same training data.  Any
failure — refused connection, timeout, HTTP error, a body that is not Rasa's
shape — falls back to the embedded classifier so the user still gets an answer,
and the safety net runs over whichever result we use.

Rasa 2 and 3 answers are both read (extra keys such as ``text_tokens``,
``response_selector``, ids, entity roles and groups are ignored or kept as they
are).  ``"intent": {"name": null}`` is Rasa's own "no intent" and means *not
understood*, not a failure.  After :data:`BREAKER_FAILURES` failures in a row
the server is skipped for :data:`BREAKER_SECONDS`, so a hung server does not add
its full timeout to every message; then one message tries it again.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from .engine import EmbeddedBackend, finish
from .result import ParseResult

log = logging.getLogger(__name__)

#: Failures in a row that open the circuit breaker.
BREAKER_FAILURES = 3
#: How long an open breaker skips the server before one message tries it again.
BREAKER_SECONDS = 30.0


class BadShape(ValueError):
    """The server answered, but not in Rasa's shape."""


def parse_url(url: str, token: str | None = None) -> str:
    """``{url}/model/parse`` keeping the URL's query string; ``token`` as Rasa's parameter.

    ``http://rasa:5005?token=X`` → ``http://rasa:5005/model/parse?token=X``.
    """
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if not path.endswith("/model/parse"):
        path += "/model/parse"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    if token:
        query = [(k, v) for k, v in query if k != "token"] + [("token", token)]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def _confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadShape("confidence is not a number")
    conf = float(value)
    if not 0.0 <= conf <= 1.0:
        raise BadShape("confidence out of range")
    return conf


def _entity(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("entity"), str) or "value" not in raw:
        raise BadShape("entity without 'entity' and 'value'")
    for key in ("start", "end"):
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int)):
            raise BadShape(f"entity {key} is not an integer")
    return dict(raw)


def read_answer(body: Any) -> dict[str, Any]:
    """Rasa's answer, cleaned to our shape; raises :class:`BadShape` otherwise.

    ``intent.name`` may be null (Rasa found no intent): the result is then
    "not understood" with confidence 0.
    """
    if not isinstance(body, dict):
        raise BadShape("not an object")
    intent = body.get("intent")
    if not isinstance(intent, dict) or "name" not in intent:
        raise BadShape("no intent")
    name = intent["name"]
    if name is not None and not isinstance(name, str):
        raise BadShape("intent name is not a string")
    conf = _confidence(intent.get("confidence", 0.0 if name is None else None))
    raw_ranking = body.get("intent_ranking", [])
    if raw_ranking is None:
        raw_ranking = []
    if not isinstance(raw_ranking, list):
        raise BadShape("intent_ranking is not a list")
    ranking = []
    for r in raw_ranking:
        if not isinstance(r, dict) or not isinstance(r.get("name"), str):
            raise BadShape("ranking entry without a name")
        ranking.append({"name": r["name"], "confidence": _confidence(r.get("confidence"))})
    raw_entities = body.get("entities", [])
    if raw_entities is None:
        raw_entities = []
    if not isinstance(raw_entities, list):
        raise BadShape("entities is not a list")
    entities = [_entity(e) for e in raw_entities]
    if name is None:
        return {
            "intent": {"name": None, "confidence": 0.0},
            "intent_ranking": [],
            "entities": entities,
        }
    return {
        "intent": {"name": name, "confidence": conf},
        "intent_ranking": ranking[:5] or [{"name": name, "confidence": conf}],
        "entities": entities,
    }


class RasaHTTPBackend:
    """Rasa server client with embedded fallback; the session is created lazily per loop."""

    def __init__(
        self,
        url: str,
        timeout: float = 2.0,
        fallback: EmbeddedBackend | None = None,
        token: str | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = parse_url(url, token)
        self.timeout = timeout
        self.fallback = fallback if fallback is not None else EmbeddedBackend()
        self._session: aiohttp.ClientSession | None = None
        self._clock = clock
        #: Messages answered by the fallback because the server failed (not the breaker's skips).
        self.failures = 0
        #: Messages that skipped the server because the breaker was open.
        self.skipped = 0
        self._in_a_row = 0
        self._open_until = 0.0

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def breaker_open(self) -> bool:
        return self._clock() < self._open_until

    def _skip(self) -> bool:
        if self.breaker_open:
            self.skipped += 1
            return True
        return False

    def _ok(self, text: str, result: dict[str, Any]) -> ParseResult:
        if self._in_a_row >= BREAKER_FAILURES:
            log.info("remote nlu answers again; breaker closed")
        self._in_a_row = 0
        return finish(text, {"text": text, **result})

    def _fallback(self, text: str, reason: str) -> ParseResult:
        self.failures += 1
        self._in_a_row += 1
        # The reason is an exception class or status, never the message text.
        if self._in_a_row >= BREAKER_FAILURES:
            self._open_until = self._clock() + BREAKER_SECONDS
            log.warning(
                "remote nlu failed %d times in a row (%s); skipping it for %.0fs, using embedded",
                self._in_a_row,
                reason,
                BREAKER_SECONDS,
            )
        else:
            log.warning("remote nlu failed (%s); using embedded", reason)
        return self.fallback.parse_sync(text)

    def _read(self, text: str, body: Any) -> ParseResult:
        try:
            result = read_answer(body)
        except BadShape as exc:
            return self._fallback(text, f"bad shape: {exc}")
        return self._ok(text, result)

    async def parse(self, text: str) -> ParseResult:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if self._skip():
            return self.fallback.parse_sync(text)
        try:
            session = await self._get_session()
            async with session.post(self.url, json={"text": text[:5000]}) as resp:
                if resp.status != 200:
                    return self._fallback(text, f"http {resp.status}")
                body = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError, UnicodeDecodeError) as exc:
            return self._fallback(text, type(exc).__name__)
        return self._read(text, body)

    def parse_sync(self, text: str) -> ParseResult:
        """Blocking variant (CLI, scripts) using the standard library."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if self._skip():
            return self.fallback.parse_sync(text)
        req = urllib.request.Request(
            self.url,
            data=json.dumps({"text": text[:5000]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            return self._fallback(text, type(exc).__name__)
        return self._read(text, body)

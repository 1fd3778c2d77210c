"""Remote Rasa backend: ``POST {url}/model/parse``, falling back to the embedded model.

A deployment may run a full Rasa server on the same training data.  Any
failure — refused connection, timeout, HTTP error, a body that is not Rasa's
shape — falls back to the embedded classifier so the user still gets an answer,
and the safety net runs over whichever result we use.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

import aiohttp

from nlu.result import ParseResult

from .engine import EmbeddedBackend, finish

log = logging.getLogger(__name__)


def _valid(body: Any) -> dict[str, Any] | None:
    """Rasa's documented answer, cleaned; None if it is not that shape."""
    if not isinstance(body, dict):
        return None
    intent = body.get("intent")
    if not isinstance(intent, dict) or not isinstance(intent.get("name"), str):
        return None
    try:
        conf = float(intent.get("confidence", 0.0))
    except (TypeError, ValueError):
        return None
    ranking = []
    for r in body.get("intent_ranking") or []:
        if isinstance(r, dict) and isinstance(r.get("name"), str):
            try:
                ranking.append({"name": r["name"], "confidence": float(r.get("confidence", 0.0))})
            except (TypeError, ValueError):
                continue
    ents = [e for e in body.get("entities") or [] if isinstance(e, dict) and "entity" in e]
    return {
        "intent": {"name": intent["name"], "confidence": conf},
        "intent_ranking": ranking[:5] or [{"name": intent["name"], "confidence": conf}],
        "entities": ents,
    }


class RasaHTTPBackend:
    """Rasa server client with embedded fallback; the session is created lazily per loop."""

    def __init__(self, url: str, timeout: float = 2.0, fallback: EmbeddedBackend | None = None):
        self.url = url.rstrip("/") + "/model/parse"
        self.timeout = timeout
        self.fallback = fallback if fallback is not None else EmbeddedBackend()
        self._session: aiohttp.ClientSession | None = None
        self.failures = 0

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _fallback(self, text: str, reason: str) -> ParseResult:
        self.failures += 1
        # The reason is an exception class or status, never the message text.
        log.warning("remote nlu failed (%s); using embedded", reason)
        return self.fallback.parse_sync(text)

    async def parse(self, text: str) -> ParseResult:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        try:
            session = await self._get_session()
            async with session.post(self.url, json={"text": text[:5000]}) as resp:
                if resp.status != 200:
                    return self._fallback(text, f"http {resp.status}")
                body = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, ValueError, UnicodeDecodeError) as exc:
            return self._fallback(text, type(exc).__name__)
        result = _valid(body)
        if result is None:
            return self._fallback(text, "bad shape")
        return finish(text, {"text": text, **result})

    def parse_sync(self, text: str) -> ParseResult:
        """Blocking variant (CLI, scripts) using the standard library."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
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
        result = _valid(body)
        if result is None:
            return self._fallback(text, "bad shape")
        return finish(text, {"text": text, **result})

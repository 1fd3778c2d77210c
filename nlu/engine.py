"""The embedded backend: classifier + safety net + entities, Rasa-shaped."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Protocol, cast

from nlu.result import ParseResult

from . import areas, safety
from .classifier import DATA_DIR, IntentModel, load_or_train
from .emergency import emergency_level
from .normalize import guess_language

log = logging.getLogger(__name__)

#: Only the first part of a huge message is classified; the safety net reads all of it.
MAX_CLASSIFY_CHARS = 1000


class NLUBackend(Protocol):
    async def parse(self, text: str) -> ParseResult: ...

    def parse_sync(self, text: str) -> ParseResult: ...


def empty_result(text: str) -> dict[str, Any]:
    return {
        "text": text,
        "intent": {"name": None, "confidence": 0.0},
        "intent_ranking": [],
        "entities": [],
        "language": "vi",
    }


def finish(text: str, result: dict[str, Any]) -> ParseResult:
    """Steps shared by every backend: safety net, area entities, language guess."""
    result = safety.apply(text, result)
    ents = result.setdefault("entities", [])
    if not any(e.get("entity") == "area" for e in ents):
        ents.extend(areas.entities(text[:MAX_CLASSIFY_CHARS]))
    result["language"] = guess_language(text)
    result["emergency"] = emergency_level(result)
    # Built above in the documented shape (classify/_valid + these steps).
    return cast(ParseResult, result)


class EmbeddedBackend:
    """In-process classifier; builds from the cache in well under a second."""

    def __init__(
        self,
        model: IntentModel | None = None,
        data_dir: str | Path = DATA_DIR,
        cache_dir: str | Path | None = None,
    ):
        t0 = time.perf_counter()
        self.model = model or load_or_train(data_dir, cache_dir)
        areas.warm_up()  # build the place-name index now, not on the first message
        safety.warm_up()
        self.model.predict("xin chào")
        log.info(
            "nlu ready in %.3fs (%d intents)", time.perf_counter() - t0, len(self.model.classes)
        )

    def classify(self, text: str) -> dict[str, Any]:
        """Classifier only (no safety net): the Rasa-shaped result."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        head = text[:MAX_CLASSIFY_CHARS]
        if not head.strip():
            return empty_result(text)
        ranking = self.model.predict(head)
        top = [{"name": n, "confidence": round(c, 4)} for n, c in ranking[:5]]
        return {
            "text": text,
            "intent": dict(top[0]),
            "intent_ranking": top,
            "entities": [],
            "language": "vi",
        }

    def parse_sync(self, text: str) -> ParseResult:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        return finish(text, self.classify(text))

    async def parse(self, text: str) -> ParseResult:
        # ~0.1 ms of CPU: cheaper inline than a thread hop.
        return self.parse_sync(text)

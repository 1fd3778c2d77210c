"""The shape of what the NLU answers: Rasa's ``/model/parse`` result.

It lives in ``nlu/`` because the NLU defines it; the engine sees it through
``bot.interfaces``, which re-exports it.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

#: How sure the NLU is of danger (nlu/emergency.py): "sure" earns the full 113
#: answer, "check" a gentle "are you in danger now?", "none" nothing.
EmergencyLevel = Literal["sure", "check", "none"]


class IntentScore(TypedDict):
    name: str | None
    confidence: float


class ParseResult(TypedDict, total=False):
    """Rasa ``/model/parse`` answer, plus what our own NLU adds.

    ``language`` is the language the text seems to be in ("vi"/"en");
    ``safety_net`` is set when the emergency rules fired (trusted at any
    confidence); ``emergency`` is the danger level every backend's answer gets
    in ``nlu.engine.finish``."""

    text: str
    intent: IntentScore
    intent_ranking: list[IntentScore]
    entities: list[dict[str, Any]]
    language: str
    safety_net: bool
    emergency: EmergencyLevel

"""A person talking to the runner, for the responses tests (imported by test modules)."""

from __future__ import annotations

from typing import Any

from bot.interfaces import TurnContext, TurnResult
from responses import Runner

LANGS = ("vi", "en")


class Chat:
    """One person talking to the runner: carries state and language between turns."""

    def __init__(self, runner: Runner, language: str = "vi", in_handoff: bool = False):
        self.runner = runner
        self.language = language
        self.state: dict[str, Any] = {}
        self.in_handoff = in_handoff
        self.last: TurnResult | None = None

    def turn(self, **kwargs: Any) -> TurnResult:
        kwargs.setdefault("in_handoff", self.in_handoff)
        if kwargs.get("intent") is not None:
            kwargs.setdefault("confidence", 0.9)
        ctx = TurnContext(language=self.language, state=self.state, **kwargs)
        result = self.runner.step(ctx)
        self.state = result.state
        self.language = result.language
        self.last = result
        return result

    def say(self, text: str, intent: str | None, **kwargs: Any) -> TurnResult:
        return self.turn(text=text, intent=intent, **kwargs)

    def press(self, payload: str) -> TurnResult:
        return self.turn(payload=payload)


def payloads(result: TurnResult) -> list[str]:
    return [b.payload for m in result.messages for b in m.buttons]


def texts(result: TurnResult) -> str:
    return "\n".join(m.text for m in result.messages)


def action_names(result: TurnResult) -> list[str]:
    return [a.action for a in result.actions]

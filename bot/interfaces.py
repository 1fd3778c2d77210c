"""The seams between layers. The engine depends on these, never on a platform.

- :class:`NLUBackend` — ``nlu/`` fills it (embedded classifier, remote Rasa).
- :class:`FlowRunner` — ``responses/`` fills it (flows as YAML).
- :class:`Sender` — each channel adapter in ``bot/channels`` fills it, so the
  outbox can deliver to any channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.messages import Outgoing

#: Rasa ``/model/parse`` answer: text, intent{name,confidence}, intent_ranking, entities.
ParseResult = dict[str, Any]


class NLUBackend(Protocol):
    async def parse(self, text: str) -> ParseResult: ...


@dataclass(slots=True)
class Action:
    """Something the engine must do beyond replying (start_handoff, erase, end...)."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TurnContext:
    """What the flow runner needs to decide one turn.

    ``intent`` is None when the NLU was not confident (the runner answers with
    "please rephrase" + menu). ``payload`` is set for button presses instead of
    an intent. ``state`` is the runner's own JSON-serialisable state from the
    previous turn ({} for a new user). ``placeholders`` fills ``{name}`` in
    texts (team hours, local contacts...).
    """

    language: str
    state: dict[str, Any]
    intent: str | None = None
    confidence: float = 0.0
    entities: list[dict[str, Any]] = field(default_factory=list)
    payload: str | None = None
    text: str | None = None
    attachment: str | None = None
    placeholders: dict[str, str] = field(default_factory=dict)
    in_handoff: bool = False
    #: Language the NLU believes the text is in ("vi"/"en"), when it can tell.
    detected_language: str | None = None
    #: The channel she writes from ("telegram", "zalo_oa", "web"...): some questions
    #: (discreet delivery) only make sense where notifications exist.
    channel: str | None = None


@dataclass(slots=True)
class TurnResult:
    messages: list[Outgoing]
    state: dict[str, Any]
    language: str
    actions: list[Action] = field(default_factory=list)


class FlowRunner(Protocol):
    def step(self, ctx: TurnContext) -> TurnResult: ...

    def render(
        self, node_id: str, language: str, placeholders: dict[str, str] | None = None
    ) -> list[Outgoing]:
        """Render one node outside a turn (welcome, notices sent by handoff)."""
        ...


class DeliveryError(Exception):
    """A send failed. ``permanent`` means retrying cannot help (blocked, gone,
    outside the reply window); otherwise retry, after ``retry_after`` seconds if given."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    """Delivers to one channel. Returns the platform message ids it created."""

    channel: str

    async def send(self, address: str, message: Outgoing) -> list[str]: ...


class Handoff(Protocol):
    """The engine's view of ``handoff/``: consent, queue, relay, team side.

    Methods taking a session run inside the engine's transaction for the user's
    turn; they write outbox rows for anyone else and return what to answer her.
    """

    async def handle_team(self, incoming: Any) -> list[Outgoing] | None:
        """An update from a team member (or a team group): handled here in its own
        transaction. None means "not a team update", and the engine goes on."""
        ...

    async def is_active(self, session: Any, user: Any) -> bool: ...

    async def on_action(self, session: Any, user: Any, action: Action) -> list[Outgoing]:
        """consent, start_handoff, end (stop) — and erase, which must end any handoff."""
        ...

    async def relay_from_user(
        self, session: Any, user: Any, incoming: Any, intent: str | None
    ) -> list[Outgoing]: ...

    async def placeholders(self, session: Any, user: Any) -> dict[str, str]: ...

    async def forget(self, session: Any, user_key: str) -> None:
        """Erase: end her handoff (the member is told only that she ended the
        chat) and delete every handoff row about her."""
        ...

"""The seams between layers. The engine depends on these, never on a platform.

- :class:`NLUBackend` — ``nlu/`` fills it (embedded classifier, remote Rasa).
- :class:`FlowRunner` — ``responses/`` fills it (flows as YAML).
- :class:`Transcriber` — ``bot/asr.py`` fills it (a speech-to-text backend),
  so the engine can read a voice message without knowing HTTP.
- :class:`Sender` — each channel adapter in ``bot/channels`` fills it, so the
  outbox can deliver to any channel.
- :class:`Handoff` — ``handoff/`` fills it: every call the runtime, the engine,
  ``/metrics`` and the channels make into the handoff service, so a renamed
  method is a type error, not a silently missing hook.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.messages import Incoming, Outgoing, VoiceClip
from nlu.result import IntentScore as IntentScore
from nlu.result import ParseResult as ParseResult

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.store.models import OutboxItem, User


class NLUBackend(Protocol):
    async def parse(self, text: str) -> ParseResult: ...


class Transcriber(Protocol):
    """Speech to text for one voice message, in memory only."""

    async def transcribe_clip(self, clip: VoiceClip) -> str | None:
        """What she said, or None when it could not be understood (no backend
        answer, too long, not audio...): the caller then answers as for any
        attachment. Never raises but for cancellation."""
        ...


class Action(StrEnum):
    """What a turn may ask for beyond replying. The flow runner emits these;
    the engine performs the ones about her settings and hands the rest to
    ``handoff/``. Dispatched with ``match`` + ``assert_never``, so a new member
    that someone forgets to handle is a type error."""

    CONSENT = "consent"
    START_HANDOFF = "start_handoff"
    END = "end"
    ERASE = "erase"
    SET_LANGUAGE = "set_language"
    SET_DISCREET = "set_discreet"
    #: Check on her in ``days`` days (a neutral message from the outbox).
    CHECKIN = "checkin"
    #: Cancel every check-in scheduled for her.
    CHECKIN_STOP = "checkin_stop"
    #: Offer check-ins (after a disclosure), where the channel allows them.
    OFFER_CHECKIN = "offer_checkin"
    #: During a handoff: her voice notes reach the member as audio (``send``
    #: true) or as their transcript only.
    VOICE_CHOICE = "voice_choice"


@dataclass(slots=True)
class ActionCall:
    """One action of a turn with its arguments (area and topic of a handoff,
    consent text version...)."""

    action: Action
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
    actions: list[ActionCall] = field(default_factory=list)


class FlowRunner(Protocol):
    def step(self, ctx: TurnContext) -> TurnResult: ...

    def render(
        self, node_id: str, language: str, placeholders: dict[str, str] | None = None
    ) -> list[Outgoing]:
        """Render one node outside a turn (welcome, notices sent by handoff)."""
        ...


class Failure(StrEnum):
    """Why a send failed, in words every layer shares. Each platform maps its
    own errors to these once (``bot/channels/*/errors.py``); the outbox and
    handoff decide on the meaning, never on a platform's text."""

    #: Network, timeout, server error, channel not started: try again with backoff.
    CONNECTION = "connection"
    #: The platform asks us to slow down: try again after ``retry_after``.
    THROTTLED = "throttled"
    #: She (or a member) blocked the bot, unfollowed or deleted the account.
    CONTACT_STOPPED = "contact_stopped"
    #: The platform's reply window closed (Zalo OA: she last wrote too long
    #: ago); she can be reached again only when she writes.
    WINDOW_CLOSED = "window_closed"
    #: The platform refuses this very request (bad parameter, chat not found).
    REJECTED = "rejected"
    #: Our side is misconfigured (token refused): an operator must act.
    CONFIG = "config"
    #: A platform quota is used up: try again much later.
    QUOTA = "quota"


#: Failures that retrying cannot cure.
PERMANENT_FAILURES = frozenset({Failure.CONTACT_STOPPED, Failure.WINDOW_CLOSED, Failure.REJECTED})


class DeliveryError(Exception):
    """A send failed for ``failure``. Permanent failures are given up at once;
    the others are retried, after ``retry_after`` seconds if given. ``detail``
    is for operators (platform and error code), never personal data."""

    def __init__(self, failure: Failure, detail: str = "", *, retry_after: float | None = None):
        self.failure = failure
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(self.reason)

    @property
    def permanent(self) -> bool:
        return self.failure in PERMANENT_FAILURES

    @property
    def reason(self) -> str:
        """``failure: detail``, as kept in the outbox's ``last_error``."""
        return f"{self.failure.value}: {self.detail}" if self.detail else self.failure.value


class Sender(Protocol):
    """Delivers to one channel. Returns the platform message ids it created."""

    channel: str

    async def send(self, address: str, message: Outgoing) -> list[str]: ...


@runtime_checkable
class MessageDeleter(Protocol):
    """A sender that can also delete messages it knows the ids of (Telegram,
    within 48 hours). The outbox runs deletion jobs (``Outgoing.deletion``)
    through it; on other channels such a job is skipped."""

    async def delete_messages(self, address: str, ids: list[str]) -> None: ...


class Handoff(Protocol):
    """The rest of the bot's view of ``handoff/``: consent, queue, relay, team side.

    Methods taking a session run inside the caller's transaction (the engine's
    for her turn, the outbox worker's, the purge's); they write outbox rows for
    anyone else and return what to answer her.
    """

    async def handle_team(self, incoming: Incoming) -> list[Outgoing] | None:
        """An update from a team member (or a team group): handled here in its own
        transaction. None means "not a team update", and the engine goes on."""
        ...

    async def is_active(self, session: AsyncSession, user: User) -> bool: ...

    async def on_action(
        self, session: AsyncSession, user: User, call: ActionCall
    ) -> list[Outgoing]:
        """consent, start_handoff, end (stop) — and erase, which must end any handoff."""
        ...

    async def relay_from_user(
        self, session: AsyncSession, user: User, incoming: Incoming, intent: str | None
    ) -> list[Outgoing]: ...

    async def placeholders(self, session: AsyncSession, user: User) -> dict[str, str]: ...

    async def forget(self, session: AsyncSession, user_key: str) -> None:
        """Erase: end her handoff (the member is told only that she ended the
        chat) and delete every handoff row about her."""
        ...

    async def on_undeliverable(
        self, session: AsyncSession, item: OutboxItem, failure: Failure
    ) -> None:
        """The outbox gave up on a message (blocked, window closed...)."""
        ...

    async def on_delivered(self, session: AsyncSession, item: OutboxItem, ids: list[str]) -> None:
        """The outbox delivered a message (platform ``ids``): copies of her words
        in a team member's chat are recorded so that erase and the end of the
        chat can delete them."""
        ...

    async def purge_hook(self, session: AsyncSession, retention: timedelta) -> int:
        """Retention: delete closed chats older than ``retention``; rows deleted."""
        ...

    async def keep_hook(self, session: AsyncSession) -> set[str]:
        """User keys the retention purge must keep (people in an open chat)."""
        ...

    async def counts_by_state(self, session: AsyncSession) -> dict[str, int]:
        """Requests by state, for ``/metrics`` (counts only)."""
        ...

    def team_group_ids(self, channel: str = "telegram") -> set[str]:
        """Chats of ``channel`` that are team groups (the Telegram adapter leaves
        any other group; the Zalo Bot adapter ignores them)."""
        ...

    def background_tasks(self) -> list[Coroutine[Any, Any, None]]:
        """Loops the runtime runs until shutdown (the handoff timers); they
        stop by themselves once the outbox's ``stopping`` event is set."""
        ...

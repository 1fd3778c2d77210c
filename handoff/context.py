"""What every part of the handoff needs, and nothing of the parts themselves.

The relay, the request lifecycle, the team side and the timers each receive
one :class:`HandoffContext` instead of the whole service, so each can be built
and tested alone and none can call back into another's private methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.crypto import KeyRing
from bot.interfaces import FlowRunner
from bot.messages import Outgoing, utcnow
from bot.outbox import Outbox
from bot.stats import Stats
from bot.store.db import Database
from handoff import texts
from handoff.models import HandoffRequest
from handoff.teams import Team, TeamsConfig

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class HandoffLimits:
    """What keeps the team's queue usable under a flood (docs/deployment.md,
    "Limits"). Per person they hold on every channel, since a script can make
    Telegram or Zalo accounts as easily as web sessions; the total only makes
    a flood visible (console banner, metric, a notice in team groups) and
    never turns a real request away."""

    #: Requests one person may make per hour.
    requests_per_hour: int = 3
    #: Her messages kept for the team while her request waits.
    held_messages: int = 30
    #: New requests per hour, everybody together, above which it is a flood.
    flood_per_hour: int = 30


@dataclass(slots=True)
class HandoffContext:
    config: TeamsConfig
    db: Database
    keyring: KeyRing
    outbox: Outbox
    #: The flows, for the notices she gets (connected, closed...); None in tests
    #: that only need the built-in texts.
    runner: FlowRunner | None = None
    #: The runtime's daily counters: requests, claims and time to claim by
    #: team, never a person. None when nobody counts (tests, tools).
    stats: Stats | None = None
    #: Injectable so tests move time instead of sleeping.
    clock: Clock = utcnow
    #: Hours after a chat closes before the copies in the member's chat and
    #: the transcript are deleted (``HELPLINE_MEMBER_COPY_HOURS``).
    member_copy_hours: float = 1.0
    limits: HandoffLimits = field(default_factory=HandoffLimits)

    def count(self, metric: str, label: str) -> None:
        if self.stats is not None:
            self.stats.count(metric, label)

    def team_of(self, request: HandoffRequest) -> Team:
        """The request's current team; the fallback if the file changed since."""
        return self.config.team(request.team_id) or self.config.fallback

    def team_placeholders(self, team: Team) -> dict[str, str]:
        """``{team_hours}`` and ``{local_contacts}`` for her texts: the team's,
        else the fallback team's."""
        fallback = self.config.fallback
        return {
            "team_hours": team.hours_text() or fallback.hours_text(),
            "local_contacts": "\n".join(team.contacts or fallback.contacts),
        }

    def render(
        self, node: str, language: str, placeholders: dict[str, str] | None = None
    ) -> list[Outgoing]:
        """A node of the flows; the built-in text if the flows lack it, so she is
        never left without an answer."""
        values = placeholders or {}
        try:
            messages = (
                list(self.runner.render(node, language, values) or [])
                if self.runner is not None
                else []
            )
        except Exception:  # a missing node must not lose her request
            log.exception("flows cannot render %s; using the built-in text", node)
            messages = []
        if messages:
            return messages
        table = texts.FALLBACK.get(node, {})
        template = table.get(language) or table.get("vi") or ""
        filled = {"team_hours": "", "local_contacts": "", **values}
        return [Outgoing(template.format_map(filled))] if template else []

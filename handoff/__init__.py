"""Handoff: consent → area → queue → claim → relay → close, with a human from
the local rapid-response team. See ``docs/handoff.md``.

``build_handoff`` is what the runtime calls. Without a teams file it returns
None (no handoff), except in demo mode (``Settings.demo_mode``: local SQLite
without channel tokens, or HELPLINE_DEMO=1), where a demo team covering every
area is used, whose member side is the web console. A production deployment
without a teams file (web chat only on PostgreSQL, say) never routes her to a
demo team nobody reads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.crypto import KeyRing
    from bot.interfaces import FlowRunner
    from bot.outbox import Outbox
    from bot.settings import Settings
    from bot.stats import Stats
    from bot.store.db import Database
    from handoff.service import HandoffService

log = logging.getLogger(__name__)


async def build_handoff(
    *,
    settings: Settings,
    db: Database,
    keyring: KeyRing,
    outbox: Outbox,
    runner: FlowRunner,
    stats: Stats | None = None,
) -> HandoffService | None:
    """The handoff service for these settings.

    Raises :class:`handoff.teams.TeamsFileError` (a ``SettingsError``) with one
    line naming the problem when the teams file is invalid."""
    from handoff.context import HandoffLimits
    from handoff.service import HandoffService
    from handoff.teams import demo_config, load_teams

    if settings.teams_file is not None:
        config = load_teams(settings.teams_file)
    elif settings.demo_mode:
        log.info("no HELPLINE_TEAMS_FILE: demo mode uses the demo team (member side: web console)")
        config = demo_config()
    else:
        log.warning("HELPLINE_TEAMS_FILE is not set: handoff to a team is disabled")
        return None
    limits = HandoffLimits(
        requests_per_hour=settings.handoff_requests_per_hour,
        held_messages=settings.handoff_held_messages,
        flood_per_hour=settings.handoff_flood_per_hour,
    )
    return HandoffService(
        config,
        db,
        keyring,
        outbox,
        runner,
        stats=stats,
        limits=limits,
        member_copy_hours=settings.member_copy_hours,
    )

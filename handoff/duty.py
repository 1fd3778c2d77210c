"""On duty / off duty: ``/on``, ``/off`` and the console toggle.

Cards of a team without a group go to its on-duty members in private; a team
with nobody on duty (and no one on duty in the fallback team) makes the bot
tell her so at once, with the hotlines, instead of letting her wait for the
claim timeout. Rows are keyed by team and member alias, never a platform id.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handoff import store
from handoff.teams import Member, Team


async def on_duty(session: AsyncSession, team: Team) -> list[Member]:
    """The team's members on duty now."""
    rows = await store.duty_rows(session, team.id)
    return [m for m in team.members if rows.get(m.alias, team.on_duty_by_default)]


async def is_on(session: AsyncSession, team: Team, member: Member) -> bool:
    rows = await store.duty_rows(session, team.id)
    return rows.get(member.alias, team.on_duty_by_default)


async def anyone_on(session: AsyncSession, team: Team) -> bool:
    return bool(await on_duty(session, team))

"""Transfer a chat (``/transfer TEAM``, ``/transfer Lan``, the console button):
to a colleague of the same team, who holds it at once, or to another team,
whose members get a card and take it as any other. The summary she agreed
to share and the transcript move along (they belong to the request, and the
next member receives the transcript when connected); each transfer is a line
in the audit log with both aliases, never content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from handoff import store, texts
from handoff.models import ACTIVE, QUEUED, HandoffRequest
from handoff.teams import Member

if TYPE_CHECKING:
    from handoff.team_side import TeamSide


async def transfer(
    side: TeamSide, session: AsyncSession, request: HandoffRequest, by: Member, to: str
) -> str | None:
    """Move an active chat; the answer for the member, or None if ``to`` names
    neither a team nor a colleague."""
    ctx = side.ctx
    now = ctx.clock()
    team = ctx.team_of(request)
    colleague = next((m for m in team.members if m.alias.casefold() == to.casefold()), None)
    if colleague is not None and colleague.alias != by.alias:
        channel, address = colleague.reply_identity
        won = await store.transition(
            session,
            request,
            expect=(ACTIVE,),
            values={
                "member_channel": channel,
                "member_key": ctx.keyring.user_key(channel, address),
                "member_address_enc": ctx.keyring.seal(address),
                "member_alias": colleague.alias,
                "last_activity_at": now,
                "reminded_at": None,
            },
            extra=HandoffRequest.member_alias == by.alias,
        )
        if not won:
            return None
        side.relay.to_member(session, request, texts.transferred_to_you(request.alias, by.alias))
        await side.connect(session, request)
        await store.audit(
            session, now, "transfer", request, member_alias=by.alias, detail=f"to={colleague.alias}"
        )
        return texts.transferred(request.alias, colleague.alias)
    target = ctx.config.team(to.casefold())
    if target is None:
        return None
    won = await store.transition(
        session,
        request,
        expect=(ACTIVE,),
        values={
            "status": QUEUED,
            "team_id": target.id,
            "queued_at": now,
            "escalated_at": None,
            "claimed_at": None,
            "member_channel": None,
            "member_key": None,
            "member_address_enc": None,
            "member_alias": None,
            "reminded_at": None,
        },
    )
    if not won:
        return None
    note = texts.transferred_note(team.name, by.alias)
    await side.requests.post_cards(session, request, target, note)
    await store.audit(
        session, now, "transfer", request, member_alias=by.alias, detail=f"to={target.id}"
    )
    return texts.transferred(request.alias, target.name)

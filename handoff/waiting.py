"""Honest waiting: where she is in the queue and how long the team usually
takes, from the last four weeks of claim times in the daily statistics
(counted in buckets, never per person). No invented minutes: without enough
claims she is told that there is not enough data to say.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Outgoing
from handoff import duty, store, texts
from handoff.context import HandoffContext
from handoff.models import HandoffRequest
from handoff.teams import VN_TZ

WEEKS = 4
#: Fewer claims than this in four weeks say nothing about a usual wait.
MIN_CLAIMS = 5


def median_bound(buckets: list[tuple[str, int]]) -> int | None:
    """The upper bound (seconds) of the bucket holding the median claim, or
    None with too few claims or a median beyond the last bound."""
    total = sum(n for _b, n in buckets)
    if total < MIN_CLAIMS:
        return None
    ordered = sorted(
        ((int(b) if b.isdigit() else None, n) for b, n in buckets),
        key=lambda item: item[0] if item[0] is not None else 10**9,
    )
    seen = 0
    for bound, n in ordered:
        seen += n
        if seen * 2 >= total:
            return bound
    return None


async def usual_wait(ctx: HandoffContext, session: AsyncSession, team_id: str) -> int | None:
    since = (ctx.clock() - timedelta(weeks=WEEKS)).astimezone(VN_TZ).date().isoformat()
    return median_bound(await store.claim_buckets(session, team_id, since))


async def answer(
    ctx: HandoffContext, session: AsyncSession, request: HandoffRequest
) -> list[Outgoing]:
    language = request.language if request.language in texts.USUAL_WAIT else "vi"
    position = await store.queue_position(session, request)
    team = ctx.team_of(request)
    bound = await usual_wait(ctx, session, team.id)
    if bound is None:
        usual = texts.USUAL_WAIT_UNKNOWN[language]
    else:
        usual = texts.USUAL_WAIT[language].format(bound=texts.duration(bound, language))
    if not await duty.anyone_on(session, team):
        usual = f"{texts.NOBODY_NOW[language]} {usual}"
    return ctx.render("handoff_wait", request.language, {"position": str(position), "usual": usual})

"""A crash loses nothing: what was decided is in the outbox, and a new process
on the same database delivers it (docs/design.md, promise 9)."""

from __future__ import annotations

from bot.store.db import Database
from handoff.teams import parse_teams
from tests.handoff.conftest import GROUP_A, HOA, TEAMS, Harness

SHE = "web-restart-she"


async def test_member_reply_queued_before_a_crash_is_delivered_after_restart(
    harness: Harness, database_url: str
) -> None:
    await harness.start(SHE)
    await harness.drain()
    card = harness.card(GROUP_A)
    await harness.press_take(GROUP_A, HOA, harness.request_id(card), card.ids[0])
    await harness.drain()
    # The member answers; the process dies before the outbox worker runs.
    assert await harness.member(HOA, "Chị ở yên đó, tổ đang tới") == []
    await harness.db.dispose()

    db = Database(database_url)
    try:
        await db.upgrade()
        again = Harness(db, parse_teams(TEAMS))
        assert await again.drain() >= 1
        assert again.web.texts_to(SHE) == ["Tổ hỗ trợ: Chị ở yên đó, tổ đang tới"]
        # The chat itself survived the restart too.
        assert await again.member(HOA, "Chị nghe không?") == []
        await again.drain()
        assert again.web.texts_to(SHE)[-1] == "Tổ hỗ trợ: Chị nghe không?"
    finally:
        await db.dispose()

"""Each Telegram update delivered twice (docs/design.md, promise 8): the second copy goes
to a random one of three processes up to a second later, so copies arrive out
of order with the person's next messages. Every update is still answered once:
her answers, the Take, the relayed messages both ways."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.scale.cluster import GROUP_A, HOA, LAN, Cluster, alias_of
from tests.scale.test_three_processes import SCRIPT

pytestmark = pytest.mark.stress

PEOPLE = [770_001, 770_002, 770_003, 770_004]
HANDOFFS = [(780_001, HOA), (780_002, LAN)]


@pytest.fixture
async def cluster(postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with FakeTelegramAPI() as api:
        c = Cluster(api, postgres_url, tmp_path, n=3)
        try:
            await c.start()
            yield c
        finally:
            await c.stop()


async def test_every_update_twice_is_answered_once(cluster: Cluster) -> None:
    c, api = cluster, cluster.api
    reference = 770_000
    for text in SCRIPT:
        await c.deliver_ok(api.user_message(reference, text), to=0)
    expected = c.texts(reference)
    asking = 790_000  # and what asking for a person is answered (her card is card 0)
    await c.ask_for_team(asking)
    expected_asking = c.texts(asking)
    await c.wait_cards(GROUP_A, 1)

    c.echo = 1.0  # from now on every update arrives twice

    async def person(chat: int) -> None:
        for text in SCRIPT:
            await c.deliver_ok(api.user_message(chat, text))
            await asyncio.sleep(0.2)

    await asyncio.gather(*(person(chat) for chat in PEOPLE))

    # Two handoffs, one after the other (cards are numbered in order).
    aliases = []
    for i, (her, member) in enumerate(HANDOFFS):
        await c.ask_for_team(her)
        card = (await c.wait_cards(GROUP_A, i + 2))[i + 1]
        await c.deliver_ok(api.press(GROUP_A, card.message_id, card.payloads[0], user_id=member))
        aliases.append(alias_of(card))
    n = 6
    to_her = {a: [f"Tổ nhắn chị lần {i} cho cuộc #{a}" for i in range(n)] for a in aliases}
    to_team = {
        a: [f"Em nhắn tổ lần {i}, em vẫn ổn và đang ở nhà" for i in range(n)] for a in aliases
    }

    async def member_writes(member: int, alias: str) -> None:
        for text in to_her[alias]:
            await c.deliver_ok(api.user_message(member, text))
            await asyncio.sleep(0.1)

    async def she_writes(her: int, alias: str) -> None:
        for text in to_team[alias]:
            await c.deliver_ok(api.user_message(her, text))
            await asyncio.sleep(0.1)

    for (_her, member), alias in zip(HANDOFFS, aliases, strict=True):
        await c.wait_texts(
            member, lambda t, a=alias: any(f"#{a}" in x and "Connected" in x for x in t)
        )
    await asyncio.gather(
        *(member_writes(m, a) for (_h, m), a in zip(HANDOFFS, aliases, strict=True)),
        *(she_writes(h, a) for (h, _m), a in zip(HANDOFFS, aliases, strict=True)),
    )
    statuses = await c.echoes_done()
    assert statuses and all(s == 200 for s in statuses), statuses
    await c.outbox_settled()

    for chat in PEOPLE:
        assert c.texts(chat) == expected, f"chat {chat}: a doubled update was answered twice"
    for (her, member), alias in zip(HANDOFFS, aliases, strict=True):
        got = [t for t in c.texts(her) if t.startswith("Tổ hỗ trợ: ")]
        assert got == [f"Tổ hỗ trợ: {t}" for t in to_her[alias]]
        got = [t for t in c.texts(member) if t.startswith(f"#{alias}: ")]
        assert got == [f"#{alias}: {t}" for t in to_team[alias]]
        assert sum("Connected" in t for t in c.texts(member)) == 1
        # Her request, consent, area and topic steps each answered once.
        assert c.texts(her)[: len(expected_asking)] == expected_asking
        assert len([t for t in c.texts(her) if "Đã kết nối" in t]) == 1
    taken = [e for e in api.edits if "taken by" in str(e.get("text"))]
    assert len(taken) == len(HANDOFFS)
    assert len(c.cards(GROUP_A)) == 1 + len(HANDOFFS)
    print(
        f"\n{len(statuses)} updates delivered a second time, all acknowledged, none answered twice"
    )

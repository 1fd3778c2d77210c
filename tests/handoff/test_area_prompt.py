"""The area prompt through the whole runtime (real NLU, flows, engine, handoff,
outbox; SQLite and PostgreSQL): official names are areas, not emergencies; old
names become today's unit and route by it; what she types there is never
stored (issues #14, #15)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from bot.runtime import build_runtime
from bot.store.models import User
from nlu import old_areas
from tests.conftest import make_settings
from tests.handoff.conftest import GROUP_A, GROUP_B
from tests.handoff.test_engine_e2e import Flow, said


@pytest.fixture
async def flow(database_url: str, tmp_path: Path, teams_file: Path) -> AsyncIterator[Flow]:
    old_areas.warm_up(background=False)  # the runtime starts it in a thread; wait for it here
    rt = await build_runtime(make_settings(database_url, tmp_path, teams_file=teams_file))
    try:
        yield Flow(rt)
    finally:
        await rt.close()


async def at_area_prompt(flow: Flow, who: str) -> None:
    await flow.say("tôi muốn nói chuyện với người thật", who)
    await flow.tap("Đồng ý", who)
    if any("kín đáo" in b.label for m in flow.last for b in m.buttons):
        await flow.tap("bình thường", who)
    assert "xã/phường" in said(flow.last)


async def test_official_names_are_areas_and_danger_still_wins(flow: Flow) -> None:
    for i, name in enumerate(["Phường An Cựu", "Xã Khả Cửu", "xa cuu an", "Phường Hưng Đạo"]):
        who = f"sid-name-{i}"
        await at_area_prompt(flow, who)
        answer = said(await flow.say(name, who))
        assert answer.startswith("Mình hiểu là:"), answer
        assert "113" not in answer
    await at_area_prompt(flow, "sid-danger")
    urgent = await flow.say("xã Khả Cửu, cứu tôi với, anh ta đang cầm dao", "sid-danger")
    assert "113" in urgent[0].text and "Mình hiểu là" not in said(urgent)


async def test_old_name_is_shown_converted_and_routes_by_todays_unit(flow: Flow) -> None:
    await at_area_prompt(flow, "sid-old")
    shown = await flow.say("Phường Phúc Xá, quận Ba Đình, Hà Nội", "sid-old")
    assert "Mình hiểu là: Phường Hồng Hà, Thành phố Hà Nội — đúng không?" in said(shown)
    assert [b.label for b in shown[-1].buttons] == ["Đúng rồi", "Đổi"]
    await flow.tap("Đổi", "sid-old")  # she corrects it
    shown = await flow.say("xã Phú Hưng, Bến Tre", "sid-old")
    assert "Phường Phú Khương, Tỉnh Vĩnh Long" in said(shown)
    await flow.tap("Đúng", "sid-old")
    queued = await flow.tap("Bạo lực", "sid-old")
    assert "113" in said(queued)
    await flow.drain()
    # The ben-tre team lists "Phú Khương"; its card names the official unit.
    [card] = [s for s in flow.telegram.to(GROUP_B) if s.message.buttons]
    assert "Phường Phú Khương, Tỉnh Vĩnh Long" in card.message.text
    assert not [s for s in flow.telegram.to(GROUP_A) if s.message.buttons]


async def test_team_listing_an_old_commune_name_still_gets_her(flow: Flow) -> None:
    await at_area_prompt(flow, "sid-phu-hung")
    shown = await flow.say("xa phu hung", "sid-phu-hung")
    assert "Mình hiểu là: Phú Hưng" in said(shown)
    topics = await flow.say("đúng rồi", "sid-phu-hung")  # typed instead of tapped
    assert any("Bạo lực" in b.label for m in topics for b in m.buttons)
    await flow.tap("Bạo lực", "sid-phu-hung")
    await flow.drain()
    assert [s for s in flow.telegram.to(GROUP_A) if s.message.buttons]


async def test_english_confirmation(flow: Flow) -> None:
    who = "sid-en"
    await flow.say("/lang", who)
    await flow.say("I want to talk to a person", who)
    await flow.tap("agree", who)
    if any("discreet" in b.label.lower() for m in flow.last for b in m.buttons):
        await flow.tap("as usual", who)
    shown = await flow.say("phuong an cuu", who)
    assert "I understood: Phường An Cựu, Thành phố Huế — is that right?" in said(shown)
    assert [b.label for b in shown[-1].buttons] == ["Yes", "Change"]


NAME, PHONE = "Nguyen Thi Lan", "0912345678"


async def test_nothing_typed_at_the_area_prompt_is_stored(
    flow: Flow, database_url: str, tmp_path: Path
) -> None:
    who = "sid-private"
    await at_area_prompt(flow, who)
    unknown = await flow.say(f"{NAME} {PHONE}", who)
    assert "chưa nhận ra" in said(unknown)  # not a place: asked again, nothing kept
    shown = await flow.say(f"{NAME} {PHONE} phuong An Cuu", who)
    assert "Phường An Cựu, Thành phố Huế" in said(shown)

    key = flow.rt.keyring.user_key("web", who)
    async with flow.rt.db.transaction() as session:
        user = await session.scalar(select(User).where(User.key == key))
        assert user is not None
        assert user.state["slots"] == {"area": "ward:19815"}, "only the unit's code"

    await flow.tap("Đúng", who)
    await flow.tap("Bạo lực", who)
    await flow.drain()

    # Every column of every table, read back through the database.
    async with flow.rt.db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "users" in tables
        for table in tables:
            rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
            dump = repr(rows)
            for needle in (NAME, PHONE, "Nguyen", "Thi Lan"):
                assert needle not in dump, f"{needle!r} in table {table}"

    if database_url.startswith("sqlite"):
        await flow.rt.close()  # flush and checkpoint; then read the raw bytes
        raw = await asyncio.to_thread(
            lambda: b"".join(p.read_bytes() for p in tmp_path.glob("helpline.db*"))
        )
        assert raw
        for needle in (NAME, PHONE, "Nguyen", "Thi Lan"):
            assert needle.encode() not in raw, f"{needle!r} in the SQLite files"

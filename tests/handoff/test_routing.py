"""Routing by the unit she confirmed at the area prompt (its code), with the
teams file's meaning kept: a commune or ward name matches that name, a
province (today's or a former one) covers every unit in it."""

from __future__ import annotations

from typing import Any

import pytest

from handoff.routing import route
from handoff.teams import parse_teams
from nlu import old_areas
from nlu.areas import read_area
from tests.handoff.conftest import TEAMS


def _teams(*teams: tuple[str, list[str]], fallback: str | None = None) -> Any:
    rows = [
        {
            "id": team_id,
            "name": team_id,
            "areas": areas,
            "telegram_group_id": -1001000000100 - i,
            "members": [{"telegram_user_id": 7000 + i, "alias": f"M{i}"}],
        }
        for i, (team_id, areas) in enumerate(teams)
    ]
    return parse_teams({"teams": rows, "fallback_team": fallback or teams[-1][0]})


@pytest.fixture(scope="module", autouse=True)
def converter_ready() -> None:
    old_areas.warm_up(background=False)


def code(typed: str) -> str:
    unit = read_area(typed)
    assert unit is not None and unit.code
    return unit.code


def test_a_team_naming_the_unit_beats_one_covering_its_province() -> None:
    config = _teams(
        ("hue", ["Thành phố Huế"]),
        ("an-cuu", ["Phường An Cựu"]),
        ("other", ["Hà Giang"]),
    )
    routed = route(code("phuong an cuu"), config)
    assert routed.team.id == "an-cuu" and routed.matched
    assert routed.area == "Phường An Cựu, Thành phố Huế"  # the official name, not her words
    assert route(code("Phường Thuận Hóa, Huế"), config).team.id == "hue"


def test_old_address_routes_by_the_unit_it_became() -> None:
    config = _teams(("hong-ha", ["Hồng Hà"]), ("quan-ba", ["Quản Bạ"]), ("fallback", ["Cà Mau"]))
    routed = route(code("Phường Phúc Xá, quận Ba Đình, Hà Nội"), config)
    assert routed.team.id == "hong-ha"  # was Xã Quản Bạ (Tuyên Quang) before
    assert routed.area == "Phường Hồng Hà, Thành phố Hà Nội"


def test_a_former_province_in_the_teams_file_covers_the_province_it_joined() -> None:
    config = _teams(("ben-tre", ["Bến Tre"]), ("fallback", ["Cà Mau"]))
    routed = route(code("phuong 7 tra vinh"), config)  # Trà Vinh joined Vĩnh Long too
    assert routed.team.id == "ben-tre" and routed.area.endswith("Tỉnh Vĩnh Long")
    assert route(code("Bến Tre"), config).team.id == "ben-tre"


def test_example_teams_keep_their_meaning() -> None:
    config = parse_teams(TEAMS)
    assert route(code("xa phu hung"), config).team.id == "phu-hung"  # an old commune name
    assert route(code("P. Phú Khương"), config).team.id == "ben-tre"
    routed = route(code("ha noi"), config)
    assert routed.team.id == "ben-tre" and not routed.matched  # the fallback team
    assert routed.area == "Thành phố Hà Nội"


def test_an_unknown_code_goes_to_the_fallback_and_carries_nothing() -> None:
    routed = route("ward:99999", parse_teams(TEAMS))
    assert routed.team.id == "ben-tre" and routed.area == "" and not routed.matched

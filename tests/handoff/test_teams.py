"""The teams file: what a programme officer can get wrong is reported in one line."""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from handoff.routing import fold, route
from handoff.teams import Hours, TeamsFileError, demo_config, load_teams, parse_teams
from tests.handoff.conftest import TEAMS

REPO = Path(__file__).resolve().parents[2]


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(TEAMS)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(fallback_team="nowhere"), "fallback_team 'nowhere'"),
        (lambda d: d["teams"][1].update(id="phu-hung"), "duplicate team id 'phu-hung'"),
        (lambda d: d["teams"][1].update(hours="7h-21h"), "teams[1].hours"),
        (lambda d: d["teams"][1].update(hours="07:00-07:00"), "same"),
        (lambda d: d["teams"][0]["members"][0].pop("telegram_user_id"), "teams[0].members[0]"),
        (lambda d: d["teams"][0].update(telegram_group_id=123), "must be a group id"),
        (lambda d: d["teams"][0].update(areas=[]), "teams[0].areas"),
        (lambda d: d["teams"][0].update(colour="red"), "teams[0].colour"),
        (
            lambda d: d["teams"][1].update(telegram_group_id=d["teams"][0]["telegram_group_id"]),
            "same group",
        ),
        (lambda d: d["teams"][0]["members"][0].update(zalo_user_id="a b"), "zalo_user_id"),
        (lambda d: d["teams"][0].update(zalo_group_id=["x"]), "teams[0].zalo_group_id"),
        (
            lambda d: (
                d["teams"][0]["members"][0].update(zalo_user_id="z1234567"),
                d["teams"][0].update(zalo_group_id="z1234567"),
            ),
            "zalo_group_id is a member's zalo_user_id",
        ),
        (
            lambda d: (
                d["teams"][0].update(zalo_group_id="g-1234567"),
                d["teams"][1].update(zalo_group_id="g-1234567"),
            ),
            "same group",
        ),
    ],
)
def test_bad_teams_files_name_the_problem(change: Any, expected: str) -> None:
    with pytest.raises(TeamsFileError) as err:
        parse_teams(broken(change))
    message = str(err.value)
    assert expected in message and "\n" not in message
    assert message.startswith("HELPLINE_TEAMS_FILE:")


def test_a_member_may_serve_two_teams() -> None:
    config = parse_teams(
        broken(
            lambda d: d["teams"][1]["members"].append({"telegram_user_id": 5001, "alias": "Hoa"})
        )
    )
    assert [t.id for t, _m in config.teams_of(("telegram", "5001"))] == ["phu-hung", "ben-tre"]


def test_yaml_errors_give_a_line(tmp_path: Path) -> None:
    path = tmp_path / "teams.yml"
    path.write_text("teams: [\n  - id: x\n", encoding="utf-8")
    with pytest.raises(TeamsFileError, match="line"):
        load_teams(path)


def test_hours_in_viet_nam_time_and_overnight() -> None:
    day = Hours.parse("07:00-21:00")
    assert day.is_open(datetime(2026, 1, 1, 0, 0, tzinfo=UTC))  # 07:00 in VN
    assert not day.is_open(datetime(2026, 1, 1, 14, 0, tzinfo=UTC))  # 21:00 in VN
    night = Hours.parse("21:00-07:00")
    assert night.is_open(datetime(2026, 1, 1, 16, 0, tzinfo=UTC))  # 23:00
    assert not night.is_open(datetime(2026, 1, 1, 5, 0, tzinfo=UTC))  # 12:00
    assert str(Hours.parse("18:00-24:00")) == "18:00–24:00"


@pytest.mark.parametrize(
    ("typed", "team"),
    [
        ("Phú Hưng", "phu-hung"),
        ("phu hung", "phu-hung"),
        ("xã Phú Hưng, TP Bến Tre", "phu-hung"),
        ("phu hungg", "phu-hung"),
        ("P. Phú Khương", "ben-tre"),
        ("Hà Nội", "ben-tre"),
        (None, "ben-tre"),
    ],
)
def test_routing_is_accent_insensitive_and_falls_back(typed: str | None, team: str) -> None:
    assert route(typed, parse_teams(TEAMS)).team.id == team


def test_fold() -> None:
    assert fold("Xã  ĐÔNG Hòa!") == "dong hoa"


def test_demo_team_covers_everywhere() -> None:
    config = demo_config()
    routed = route("bất cứ đâu", config)
    assert routed.team.id == "demo" and routed.area == "bất cứ đâu"


def test_shipped_example_is_valid() -> None:
    config = load_teams(REPO / "teams.example.yml")
    assert config.fallback_team in {t.id for t in config.teams}


def _helpline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def _env(tmp_path: Path, teams: Path | None) -> dict[str, str]:
    import os

    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HELPLINE_", "TELEGRAM_", "ZALO_"))
    }
    env.update(
        HELPLINE_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        HELPLINE_SECRET_KEY="yGy2VOGOqziDJEU_EzDDQwajPWo5lLWO2kJlWoc2GhCUOMaDW98btg",
        HELPLINE_DATA_DIR=str(tmp_path),
    )
    if teams is not None:
        env["HELPLINE_TEAMS_FILE"] = str(teams)
    return env


def test_team_check_prints_a_summary(tmp_path: Path, teams_file: Path) -> None:
    done = _helpline("team", "check", env=_env(tmp_path, teams_file))
    assert done.returncode == 0, done.stderr
    assert "2 team(s), 3 member(s), fallback ben-tre" in done.stdout
    assert "warning" not in done.stdout  # Phú Hưng, Bến Tre, Phú Khương are all places
    odd = tmp_path / "odd.yml"
    odd.write_text(
        yaml.safe_dump(broken(lambda d: d["teams"][0].update(areas=["Khu Đông", "Phú Hưng"]))),
        encoding="utf-8",
    )
    done = _helpline("team", "check", "--file", str(odd), env=_env(tmp_path, None))
    assert done.returncode == 0, done.stderr
    assert "warning: teams[0].areas: 'Khu Đông'" in done.stdout
    assert "'Phú Hưng' is no" not in done.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(broken(lambda d: d.update(fallback_team="x"))), encoding="utf-8")
    done = _helpline("team", "check", "--file", str(bad), env=_env(tmp_path, None))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "fallback_team 'x'" in done.stderr


def test_team_list_requests_prints_counts_only(tmp_path: Path) -> None:
    done = _helpline("team", "list-requests", env=_env(tmp_path, None))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["queued: 0", "active: 0", "closed: 0"]


def test_run_with_a_bad_teams_file_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        yaml.safe_dump(broken(lambda d: d["teams"][0].update(hours="late"))), encoding="utf-8"
    )
    done = _helpline("run", env=_env(tmp_path, bad))
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("helpline: ") and "teams[0].hours" in lines[-1]
    assert "Traceback" not in done.stderr


def test_team_check_validates_and_describes_zalo_teams(tmp_path: Path) -> None:
    data = broken(
        lambda d: (
            d["teams"][0].update(zalo_group_id="g-91827364554637281"),
            d["teams"][0]["members"].append({"alias": "Thu", "zalo_user_id": "6ede9afa66b88fe6"}),
            d["teams"][1].pop("telegram_group_id"),
            d["teams"][1]["members"].__setitem__(0, {"alias": "Mai", "zalo_user_id": 12345678}),
        )
    )
    path = tmp_path / "zalo.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    config = load_teams(path)
    assert config.teams[1].members[0].zalo_user_id == "12345678"  # YAML read it as a number
    done = _helpline("team", "check", "--file", str(path), env=_env(tmp_path, None))
    assert done.returncode == 0, done.stderr
    assert "zalo_bot:g-91827364554637281" in done.stdout
    assert "(telegram 2, zalo_bot 1)" in done.stdout
    assert "each on-duty member in private (no group)" in done.stdout
    assert "Zalo Bot groups are not documented" in done.stdout
    assert "6ede9afa66b88fe6" not in done.stdout  # member ids are never printed

"""Programme statistics: counts only, small counts masked, same numbers in the
CLI and on the page."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.console.stats import bar_chart, compute, hbar_chart, mask, share
from bot.stats import Stats, claim_bucket
from bot.store.db import Database
from bot.store.models import DailyCount
from tests.conftest import SECRET


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.dispose()


async def seed(db: Database, today: date) -> None:
    d0, d1 = today.isoformat(), (today - timedelta(days=1)).isoformat()
    rows = [
        (d0, "conversations", "web", 7),
        (d0, "conversations", "telegram", 2),
        (d1, "conversations", "web", 3),
        (d0, "intent", "greet", 40),
        (d0, "intent", "emergency", 3),
        (d0, "handoff_requested", "hanoi", 12),
        (d0, "handoff_claimed", "hanoi", 10),
        (d0, "out_of_hours", "hanoi", 6),
        (d0, "claim_seconds", "hanoi|60", 2),
        (d0, "claim_seconds", "hanoi|300", 5),
        (d0, "claim_seconds", "hanoi|900", 3),
        (d0, "handoff_requested", "hue", 2),
        (d0, "handoff_claimed", "hue", 1),
        ("2000-01-01", "conversations", "web", 999),  # outside the window
    ]
    async with db.transaction() as s:
        for day, metric, label, n in rows:
            s.add(DailyCount(day=day, metric=metric, label=label, count=n))


def test_masking_rules() -> None:
    assert [mask(n) for n in (0, 1, 4, 5, 120)] == [0, "< 5", "< 5", 5, 120]
    assert share(6, 12) == 0.5
    assert share(3, 12) is None and share(6, 4) is None and share(0, 0) is None
    assert claim_bucket(30) == "60" and claim_bucket(61) == "300" and claim_bucket(10**6) == "more"


async def test_numbers_mask_small_counts(db: Database) -> None:
    today = date(2026, 11, 22)
    await seed(db, today)
    n = await compute(db, 30, until=today)
    conv = n["conversations"]
    assert conv["total"] == 10, "web only: the masked telegram count is left out"
    assert conv["by_channel"] == {"telegram": "< 5", "web": 10}
    per_day = {p["day"]: p["count"] for p in conv["per_day"]}
    assert per_day[today.isoformat()] == 5, "7 on the web, rounded; telegram left out"
    assert per_day["2026-11-21"] == "< 5"
    assert per_day["2026-11-20"] == 0 and len(per_day) == 30
    assert n["intents"] == {"greet": 40, "emergency": "< 5"}
    h = n["handoffs"]
    # hanoi only (12, 10, 6), rounded: hue's small counts are left out of totals.
    assert h["requested"] == 10 and h["claimed"] == 10 and h["out_of_hours"] == 5
    assert h["median_seconds_to_claim"] == 300
    assert h["per_team"]["hanoi"]["out_of_hours_share"] == 0.5
    assert h["per_team"]["hue"] == {
        "requested": "< 5",
        "claimed": "< 5",
        "median_seconds_to_claim": None,
        "out_of_hours": 0,
        "out_of_hours_share": None,
    }
    assert "999" not in json.dumps(n)


async def test_stats_writer_and_reader_agree(db: Database) -> None:
    stats = Stats(db)
    for _ in range(6):
        stats.count("conversations", "web")
    await stats.flush()
    n = await compute(db, 7)
    assert n["conversations"]["total"] == 5, "6 rounded to the nearest 5"


def test_charts_are_svg_with_masked_labels() -> None:
    svg = bar_chart("Conversations", [("2026-11-21", "< 5"), ("2026-11-22", 9)])
    assert svg.startswith("<svg") and svg.count("<rect") == 2 and "&lt; 5" in svg
    svg = hbar_chart("Intents", [("greet", 40), ("<script>", "< 5")])
    assert "<script>" not in svg and "&lt;script&gt;" in svg


async def test_helpline_stats_json(tmp_path: Path, sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.upgrade()
    from bot.console.stats import local_today

    await seed(db, local_today())
    await db.dispose()
    env = {
        "HELPLINE_DATABASE_URL": sqlite_url,
        "HELPLINE_SECRET_KEY": SECRET,
        "HELPLINE_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "stats", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    numbers = json.loads(out.stdout)
    assert numbers["conversations"]["by_channel"] == {"telegram": "< 5", "web": 10}
    assert numbers["handoffs"]["per_team"]["hue"]["requested"] == "< 5"
    text = (
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.cli", "stats"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    ).stdout
    assert "hanoi" in text and "< 5" in text


async def test_team_set_password_command(tmp_path: Path, sqlite_url: str) -> None:
    env = {
        "HELPLINE_DATABASE_URL": sqlite_url,
        "HELPLINE_SECRET_KEY": SECRET,
        "HELPLINE_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "team", "set-password", "hoa", "--stdin"],
        env=env,
        cwd=tmp_path,
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    weak = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "team", "set-password", "hoa", "--stdin"],
        env=env,
        cwd=tmp_path,
        input="short\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert weak.returncode == 1 and "at least" in weak.stderr
    from bot.console import auth

    db = Database(sqlite_url)
    try:
        assert (await auth.authenticate(db, "hoa", "a long enough password")).ok
    finally:
        await db.dispose()

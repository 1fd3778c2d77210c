"""``helpline stats``: the programme's numbers from the command line, the same
as the console's statistics page (counts only; 1–4 shown as "< 5", others
rounded to the nearest 5; windows of 7, 30 or 90 days)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("stats", help="counts for the programme (no personal data)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument(
        "--days",
        type=int,
        choices=(7, 30, 90),
        default=30,
        help="the window: 7, 30 or 90 days (default 30); no other length, so that two "
        "windows cannot be subtracted to reveal a masked day",
    )
    parser.add_argument(
        "--team", action="append", help="only this team's handoff figures (repeatable)"
    )
    parser.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace) -> int:
    from bot.console.stats import compute
    from bot.settings import settings_or_exit
    from bot.store.db import Database

    settings = settings_or_exit()
    days = int(args.days)
    teams = set(args.team) if args.team else None

    async def main() -> dict[str, Any]:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            return await compute(db, days, teams=teams)
        finally:
            await db.dispose()

    numbers = asyncio.run(main())
    if args.json:
        print(json.dumps(numbers, ensure_ascii=False, indent=2))
    else:
        print(render_text(numbers))
    return 0


def render_text(n: dict[str, Any]) -> str:
    h = n["handoffs"]
    lines = [
        f"{n['from']} – {n['to']} ({n['small_counts']})",
        f"conversations: {n['conversations']['total']}",
        *(f"  {k}: {v}" for k, v in n["conversations"]["by_channel"].items()),
        "intents:",
        *(f"  {k}: {v}" for k, v in n["intents"].items()),
        f"handoffs requested: {h['requested']}, claimed: {h['claimed']}, "
        f"median time to claim: {_median(h['median_seconds_to_claim'])}, "
        f"out of hours: {h['out_of_hours']}",
        *(
            f"  {team}: requested {t['requested']}, claimed {t['claimed']}, "
            f"median {_median(t['median_seconds_to_claim'])}, out of hours {t['out_of_hours']}"
            for team, t in h["per_team"].items()
        ),
    ]
    return "\n".join(lines)


def _median(value: int | str | None) -> str:
    if value is None:
        return "-"
    if value == "more":
        return "> 24 h"
    seconds = int(value)
    return f"≤ {seconds // 60} min" if seconds < 3600 else f"≤ {seconds // 3600} h"

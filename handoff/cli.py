"""``helpline team ...``: check the teams file, count requests.

Prints counts and team structure only: never a request's area or topic, never
a person. Wired into ``bot/cli.py`` through its plugin list (``register``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.settings import SettingsError


def register(subparsers: Any) -> None:
    # The console adds `team set-password` to the same group, in either order.
    team = subparsers.choices.get("team") or subparsers.add_parser(
        "team", help="team side: check the teams file, count requests, console logins"
    )
    sub = next((a for a in team._actions if isinstance(a, argparse._SubParsersAction)), None)
    if sub is None:
        sub = team.add_subparsers(dest="team_command", required=True)
    check = sub.add_parser("check", help="validate the teams file and print a summary")
    check.add_argument("--file", type=Path, help="teams file (default: HELPLINE_TEAMS_FILE)")
    check.set_defaults(func=cmd_check)
    requests = sub.add_parser("list-requests", help="handoff requests by state (counts only)")
    requests.set_defaults(func=cmd_list_requests)


def _fail(message: str) -> int:
    print(f"helpline: {message}", file=sys.stderr)
    return 2


def cmd_check(args: argparse.Namespace) -> int:
    from handoff.teams import load_teams

    path: Path | None = args.file
    if path is None:
        from bot.settings import settings_or_exit

        path = settings_or_exit().teams_file
    if path is None:
        return _fail("HELPLINE_TEAMS_FILE is not set (or pass --file teams.yml)")
    try:
        config = load_teams(path)
    except SettingsError as exc:
        return _fail(str(exc))
    members = {ident for t in config.teams for m in t.members for ident in m.identities()}
    print(
        f"{path}: {len(config.teams)} team(s), {len(members)} member(s), "
        f"fallback {config.fallback_team}, claim timeout {config.claim_timeout_minutes} min"
    )
    for t in config.teams:
        groups = ", ".join(f"{c}:{a}" for c, a in t.group_addresses())
        if t.cards_in_private:
            groups = "each on-duty member in private (no group)"
        apps = _apps(t)
        print(
            f"  {t.id}: {t.name} | areas {len(t.areas)} ({', '.join(t.areas[:3])}"
            f"{', ...' if len(t.areas) > 3 else ''}) | hours {t.hours_text() or 'always'} | "
            f"{len(t.members)} member(s) ({apps}) | cards → {groups}"
        )
        for warning in _warnings(t):
            print(f"    note: {warning}")
    from nlu.areas import known_place

    for i, t in enumerate(config.teams):
        for area in t.areas:
            if area != "*" and not known_place(area):
                # She is routed by the unit she confirms: a name that is no place
                # (today's or pre-2025) can never be matched.
                print(
                    f"  warning: teams[{i}].areas: {area!r} is no commune, ward or province "
                    "name (today's or pre-2025); no answer can be routed to it"
                )
    return 0


def _apps(team: Any) -> str:
    """How many members can be reached on each app: counts, no ids."""
    counts: dict[str, int] = {}
    for member in team.members:
        for channel, _ident in member.identities():
            counts[channel] = counts.get(channel, 0) + 1
    return ", ".join(f"{channel} {n}" for channel, n in sorted(counts.items()))


def _warnings(team: Any) -> list[str]:
    """Valid but worth a look: members who cannot see the team's cards."""
    out = []
    zalo_only = [m.alias for m in team.members if m.zalo_user_id and not m.telegram_user_id]
    if zalo_only and team.telegram_group_id is not None and team.zalo_group_id is None:
        out.append(
            f"{', '.join(zalo_only)} only on Zalo but cards go to Telegram: add zalo_group_id, "
            "or they take requests from the console"
        )
    tg_only = [m.alias for m in team.members if m.telegram_user_id and not m.zalo_user_id]
    if tg_only and team.zalo_group_id is not None and team.telegram_group_id is None:
        out.append(f"{', '.join(tg_only)} only on Telegram but cards go to a Zalo group")
    if team.zalo_group_id is not None:
        out.append(
            "Zalo Bot groups are not documented by Zalo: if the bot sees no message in the "
            "group, remove zalo_group_id and cards go to each on-duty member in private"
        )
    return out


def cmd_list_requests(args: argparse.Namespace) -> int:
    from bot.settings import settings_or_exit
    from bot.store.db import Database
    from handoff import store

    settings = settings_or_exit()

    async def main() -> dict[str, int]:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            async with db.transaction() as session:
                return await store.counts_by_state(session)
        finally:
            await db.dispose()

    counts = asyncio.run(main())
    for state in ("queued", "active", "closed"):
        print(f"{state}: {counts.get(state, 0)}")
    return 0

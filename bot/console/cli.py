"""``helpline team set-password LOGIN``: set a team member's console password.

The login is the member's ``console_id`` in the teams file. The password is
read without echo (or from stdin with ``--stdin``) and stored as an argon2
hash only. Setting a new password ends that login's open sessions.
``--coordinator`` lets the login see every team's statistics (``--member``
takes that back); members see their own teams' figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    team = subparsers.choices.get("team")
    if team is None:
        team = subparsers.add_parser("team", help="team side: console logins")
    team_sub = _subparsers_of(team)
    if team_sub is None:
        team_sub = team.add_subparsers(dest="team_command", required=True)
    setpw = team_sub.add_parser("set-password", help="set a team member's web console password")
    setpw.add_argument("login", help="the member's console_id in the teams file")
    setpw.add_argument(
        "--stdin", action="store_true", help="read the password from standard input (scripts)"
    )
    role = setpw.add_mutually_exclusive_group()
    role.add_argument(
        "--coordinator",
        dest="coordinator",
        action="store_const",
        const=True,
        help="this login may see every team's statistics",
    )
    role.add_argument(
        "--member",
        dest="coordinator",
        action="store_const",
        const=False,
        help="this login sees its own teams' statistics only (the default for new logins)",
    )
    setpw.set_defaults(func=cmd_set_password, coordinator=None)


def _subparsers_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:  # type: ignore[type-arg]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def cmd_set_password(args: argparse.Namespace) -> int:
    from bot.console.auth import (
        PasswordError,
        check_login_name,
        check_password_strength,
        set_password,
    )
    from bot.settings import settings_or_exit
    from bot.store.db import Database

    settings = settings_or_exit()
    try:
        check_login_name(args.login)
        if args.stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("New password: ")
            if getpass.getpass("Again: ") != password:
                print("helpline: the two passwords differ", file=sys.stderr)
                return 1
        check_password_strength(password)
    except PasswordError as exc:
        print(f"helpline: {exc}", file=sys.stderr)
        return 1

    async def main() -> None:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            await set_password(db, args.login, password, coordinator=args.coordinator)
        finally:
            await db.dispose()

    asyncio.run(main())
    role = {True: " (coordinator)", False: " (member)", None: ""}[args.coordinator]
    print(f"password set for {args.login}{role}")
    return 0

"""The ``helpline`` command: run, chat, db upgrade, and the sub-commands that
the other layers register (nlu, content, team, stats)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from bot.settings import SettingsError, settings_or_exit

#: Modules that add their own sub-commands with ``register(subparsers)``.
PLUGIN_COMMANDS = (
    "nlu.cli",
    "responses.cli",
    "handoff.cli",
    "bot.stats_cli",
    "bot.console.cli",
    "bot.keys_rotate",
)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (``pip install .[fast]``):
    the same program, less CPU per turn. ``HELPLINE_UVLOOP=0`` turns it off."""
    if os.environ.get("HELPLINE_UVLOOP", "1") == "0":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import serve

    settings = settings_or_exit()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(serve(settings))
    except SettingsError as exc:  # e.g. a bad teams file, found while building the runtime
        print(f"helpline: bad setting {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"helpline: cannot serve on {settings.http_host}:{settings.http_port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.channels.terminal import chat
    from bot.runtime import build_runtime

    settings = settings_or_exit()
    if args.json:
        logging.getLogger().setLevel(logging.WARNING)

    async def main() -> int:
        runtime = await build_runtime(settings)
        return await chat(
            runtime, session=args.session, as_json=args.json, stdin=sys.stdin, stdout=sys.stdout
        )

    return asyncio.run(main())


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.store.db import Database

    settings = settings_or_exit()

    async def main() -> None:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
        finally:
            await db.dispose()

    asyncio.run(main())
    print("database is up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpline", description="Confidential helpline chatbot")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="serve the web chat and every configured channel")
    run.set_defaults(func=cmd_run)

    chat = sub.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument(
        "--json", action="store_true", help="one JSON object per bot message (for scripts)"
    )
    chat.add_argument("--session", help="keep a conversation across invocations under this name")
    chat.set_defaults(func=cmd_chat)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    for module_name in PLUGIN_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] = (
            module.register
        )
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

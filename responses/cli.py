"""``helpline content check``: the command the programme's staff run after editing a text.

The lead wires :func:`register` into the ``helpline`` command line; running
``python -m responses.cli content check`` works on its own too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from responses.validate import check


def _check(args: argparse.Namespace) -> int:
    problems = check(args.dir)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    for problem in errors + warnings:
        print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)
    where = args.dir or "the packaged flows"
    if errors:
        print(
            f"content check FAILED for {where}: {len(errors)} error(s), {len(warnings)} warning(s)",
            file=sys.stderr,
        )
        return 1
    print(f"content check passed for {where} ({len(warnings)} warning(s))")
    return 0


def register(subparsers: Any) -> None:
    """Add ``content check [--dir DIR]`` to the ``helpline`` command's sub-parsers."""
    content = subparsers.add_parser("content", help="check the bot's texts and flows")
    sub = content.add_subparsers(dest="content_command", required=True)
    chk = sub.add_parser("check", help="validate the flow files (exit 1 on any error)")
    chk.add_argument("--dir", default=None, help="flows directory (default: the packaged one)")
    chk.set_defaults(func=_check)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="helpline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

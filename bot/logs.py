"""Logging without personal data: a short pseudonym prefix, intents, timings.
Never a message text, a platform id or a name (DESIGN.md §3.3)."""

from __future__ import annotations

import logging


def short(user_key: str) -> str:
    """Enough of the pseudonym to follow one conversation in the logs."""
    return user_key[:8]


def configure(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Libraries that log request URLs would log the bot token and chat ids.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))

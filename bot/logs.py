"""Logging without personal data: a short pseudonym prefix, intents, timings.
Never a message text, a platform id or a name (docs/design.md, promise 3)."""

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
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    quiet_libraries()


#: Loggers that, below INFO, print SQL parameters (pseudonyms, sealed values),
#: request URLs with tokens, or client IPs. Never below INFO, whatever
#: HELPLINE_LOG_LEVEL says; the access log is not written at all.
LIBRARY_LOGGERS = ("aiosqlite", "sqlalchemy", "asyncpg", "httpx", "httpcore", "telegram", "aiohttp")


def quiet_libraries() -> None:
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    # aiohttp's access log line starts with the client IP.
    logging.getLogger("aiohttp.access").setLevel(logging.CRITICAL + 1)

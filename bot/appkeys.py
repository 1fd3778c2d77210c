"""Typed keys for what the aiohttp application carries (aiohttp's AppKey)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.store.db import Database

if TYPE_CHECKING:
    from bot.runtime import Runtime

DB: web.AppKey[Database] = web.AppKey("db", Database)
RUNTIME: web.AppKey[Any] = web.AppKey("runtime", object)


def runtime_of(app: web.Application) -> Runtime:
    return app[RUNTIME]  # type: ignore[no-any-return]

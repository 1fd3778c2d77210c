"""Channel adapters: each translates one platform to Incoming/Outgoing and back.
No flow logic and no SQL here (docs/design.md, Layers)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from bot.interfaces import Sender


class Channel(Protocol):
    """What the runtime needs from an adapter."""

    name: str

    @property
    def sender(self) -> Sender | None: ...

    def add_routes(self, app: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

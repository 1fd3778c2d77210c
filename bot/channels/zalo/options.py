"""The numbered options last shown to a person on Zalo, kept sealed in the
``kv`` table under a pseudonym, not in process memory: another process may
receive her answer (several processes behind a load balancer)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.channels.zalo.common import Options
from bot.crypto import DecryptionError, KeyRing
from bot.messages import Button, utcnow
from bot.store import kv
from bot.store.db import Database

if TYPE_CHECKING:
    from bot.runtime import Runtime

#: How long numbered options stay answerable.
OPTIONS_TTL = timedelta(days=2)
OPTIONS_PREFIX = "zopt:"

#: Retention step: drop options older than :data:`OPTIONS_TTL` (or the
#: retention period if shorter) of every Zalo user.
purge_options_hook = kv.purge_hook(OPTIONS_PREFIX, OPTIONS_TTL)


class OptionsStore:
    """The last options per person, sealed in ``kv`` under a pseudonym (never
    her platform id), replaced by every message with buttons, removed by a
    message without (a counsellor's words must not turn "1" into a button
    press), by erase, and after :data:`OPTIONS_TTL`."""

    def __init__(self, db: Database, keyring: KeyRing, channel: str) -> None:
        self.db = db
        self.keyring = keyring
        self.channel = channel

    def _name(self, address: str) -> str:
        return OPTIONS_PREFIX + self.keyring.user_key(self.channel, address)[:56]

    async def remember(self, address: str, buttons: list[Button], *, numbered: bool) -> None:
        name = self._name(address)
        async with self.db.transaction() as session:
            if not buttons:
                await kv.remove(session, name)
                return
            value = {"n": numbered, "b": [[b.label, b.payload] for b in buttons]}
            await kv.put(session, self.db, name, self.keyring.seal_json(value), utcnow())

    async def forget(self, address: str) -> None:
        async with self.db.transaction() as session:
            await kv.remove(session, self._name(address))

    async def load(self, address: str) -> Options | None:
        async with self.db.transaction() as session:
            row = await kv.get(session, self._name(address))
        if row is None or row.updated_at < utcnow() - OPTIONS_TTL:
            return None
        try:
            value: dict[str, Any] = self.keyring.open_json(row.value_enc)
        except (DecryptionError, ValueError):
            return None
        buttons = [Button(str(label), str(payload)) for label, payload in value.get("b", [])]
        return Options(buttons, bool(value.get("n")))

    async def resolve(self, address: str, text: str) -> str | None:
        """The payload her text stands for, if it answers the last options."""
        if len(text) > 200:
            return None
        options = await self.load(address)
        return options.match(text) if options else None


def add_options_purge(runtime: Runtime) -> None:
    """Register :func:`purge_options_hook` once, whichever Zalo channels are on."""
    if purge_options_hook not in runtime.purge_hooks:
        runtime.purge_hooks.append(purge_options_hook)

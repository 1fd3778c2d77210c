"""``helpline keys rotate``: move every stored secret value to the current key.

After HELPLINE_SECRET_KEY changes (the old one moved to
HELPLINE_OLD_SECRET_KEYS), the bot reads old values and re-seals a person's
address when she next writes. This command does the rest at once, so that the
old secret can be dropped:

- every sealed value is opened (with any known key) and sealed again under the
  current key, bound to its row (see :mod:`bot.crypto`);
- every pseudonym is re-keyed: ``users.key`` becomes the HMAC under the current
  key, and so does every column that stores it (message refs, web chat
  replay, handoff consents and requests, Zalo options in ``kv``); outbox
  recipients and team members' keys are recomputed from their sealed address.

It works row by row in small transactions and writes a progress marker (in
``kv``) after each batch, so an interrupted run (or ``--max-rows``, to spread
the work) continues where it stopped; every step is also idempotent, so
running it again is always safe. ``handoff_seen`` keys (hashes of team chats,
kept a few days to drop redelivered updates) cannot be recomputed and are left
to expire.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import DecryptionError, KeyRing, address_context, outbox_payload_context
from bot.messages import utcnow
from bot.store import kv, web_sessions
from bot.store.db import Database
from bot.store.models import Base

log = logging.getLogger(__name__)

PROGRESS = "keys-rotate:progress"
#: ``kv`` names that end with (a prefix of) a person's pseudonym.
PSEUDONYM_KV_PREFIXES = {"zopt:": 56}
#: Columns that hold a person's pseudonym (besides ``users.key``).
USER_KEY_COLUMNS = (
    ("message_refs", "user_key"),
    ("web_pending", "user_key"),
    ("handoff_consents", "user_key"),
    ("handoff_requests", "user_key"),
)
#: Sealed columns without a row context (sealed by code that does not bind
#: them yet): (table, primary key, column).
PLAIN_SEALED = (
    ("handoff_cards", "id", "address_enc"),
    ("handoff_messages", "id", "body_enc"),
    ("handoff_copies", "id", "address_enc"),
    ("handoff_copies", "id", "ids_enc"),
    ("web_pending", "seq", "payload_enc"),
    ("kv", "name", "value_enc"),
)


def _tables() -> dict[str, Table]:
    import bot.console.models  # noqa: F401  (registers web_pending, console tables)
    import handoff.models  # noqa: F401  (registers the handoff tables)

    return dict(Base.metadata.tables)


@dataclass
class Report:
    rekeyed: int = 0
    resealed: int = 0
    unreadable: int = 0
    collisions: int = 0
    rows: int = 0
    done: bool = False
    phases: list[str] = field(default_factory=list)

    def line(self) -> str:
        state = "done" if self.done else "stopped early; run it again to continue"
        return (
            f"keys rotate {state}: {self.rows} rows checked, {self.resealed} values re-sealed, "
            f"{self.rekeyed} pseudonyms re-keyed, {self.unreadable} unreadable, "
            f"{self.collisions} left (pseudonym already taken)"
        )


class _Budget(Exception):
    """``max_rows`` reached: stop after saving progress."""


class Rotation:
    """One pass over the database; see the module docstring."""

    def __init__(
        self, db: Database, keyring: KeyRing, *, batch: int = 100, max_rows: int | None = None
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.batch = batch
        self.max_rows = max_rows
        self.t = _tables()
        self.report = Report()

    # ---- progress ---------------------------------------------------------------

    async def _load_progress(self) -> dict[str, Any]:
        async with self.db.transaction() as session:
            row = await kv.get(session, PROGRESS)
        if row is None:
            return {}
        try:
            data = dict(self.keyring.open_json(row.value_enc, PROGRESS))
        except (DecryptionError, ValueError):
            return {}
        return data if data.get("key") == self.keyring.key_id else {}

    async def _save_progress(self, session: AsyncSession, phase: str, after: Any) -> None:
        value = {"key": self.keyring.key_id, "phase": phase, "after": after}
        await kv.put(session, self.db, PROGRESS, self.keyring.seal_json(value, PROGRESS), utcnow())

    # ---- the pass -------------------------------------------------------------------

    async def run(self) -> Report:
        phases: list[tuple[str, str, str, Callable[[AsyncSession, Any], Any]]] = [
            ("users", "users", "key", self._user),
            ("outbox", "outbox", "id", self._outbox_row),
            ("members", "handoff_requests", "id", self._request_row),
            *(
                (f"sealed:{table}.{column}", table, pk, self._plain(table, pk, column))
                for table, pk, column in PLAIN_SEALED
            ),
            ("web_sessions", "web_sessions", "id", self._web_session),
        ]
        progress = await self._load_progress()
        names = [p[0] for p in phases]
        start = names.index(progress["phase"]) if progress.get("phase") in names else 0
        try:
            for index, (name, table, pk, handle) in enumerate(phases):
                if index < start:
                    continue
                after = progress.get("after") if index == start else None
                await self._phase(name, self.t[table], pk, handle, after)
                self.report.phases.append(name)
        except _Budget:
            return self.report
        async with self.db.transaction() as session:
            await kv.remove(session, PROGRESS)
        self.report.done = True
        return self.report

    async def _phase(
        self,
        name: str,
        table: Table,
        pk: str,
        handle: Callable[[AsyncSession, Any], Any],
        after: Any,
    ) -> None:
        column = table.c[pk]
        while True:
            stmt = select(table).order_by(column).limit(self.batch)
            if after is not None:
                stmt = stmt.where(column > after)
            async with self.db.transaction() as session:
                rows = (await session.execute(stmt)).all()
                if not rows:
                    return
                for row in rows:
                    if self.max_rows is not None and self.report.rows >= self.max_rows:
                        await self._save_progress(session, name, after)
                        raise _Budget
                    await handle(session, row)
                    self.report.rows += 1
                    after = getattr(row, pk)
                await self._save_progress(session, name, after)

    def _open(self, sealed: str, context: str) -> str | None:
        try:
            return self.keyring.open(sealed, context)
        except DecryptionError:
            self.report.unreadable += 1
            return None

    # ---- people -----------------------------------------------------------------------

    async def _user(self, session: AsyncSession, row: Any) -> None:
        users = self.t["users"]
        old = row.key
        address = self._open(row.address_enc, address_context(old))
        if address is None:
            return
        new = self.keyring.user_key(row.channel, address)
        if new != old:
            taken = await session.scalar(select(users.c.key).where(users.c.key == new))
            if taken is not None:
                self.report.collisions += 1
                return
            await self._rekey(session, old, new)
            self.report.rekeyed += 1
        if new != old or self.keyring.needs_reseal(row.address_enc):
            sealed = self.keyring.seal(address, address_context(new))
            await session.execute(
                update(users).where(users.c.key == new).values(address_enc=sealed)
            )
            self.report.resealed += 1

    async def _rekey(self, session: AsyncSession, old: str, new: str) -> None:
        users = self.t["users"]
        await session.execute(update(users).where(users.c.key == old).values(key=new))
        for table_name, column_name in USER_KEY_COLUMNS:
            table = self.t[table_name]
            column = table.c[column_name]
            await session.execute(update(table).where(column == old).values({column_name: new}))
        store = self.t["kv"]
        for prefix, length in PSEUDONYM_KV_PREFIXES.items():
            old_name, new_name = prefix + old[:length], prefix + new[:length]
            await session.execute(delete(store).where(store.c.name == new_name))
            await session.execute(
                update(store).where(store.c.name == old_name).values(name=new_name)
            )

    async def _outbox_row(self, session: AsyncSession, row: Any) -> None:
        outbox = self.t["outbox"]
        address = self._open(row.address_enc, address_context(row.recipient))
        if address is None:
            return
        try:
            payload = self.keyring.open(row.payload_enc, outbox_payload_context(row.recipient))
        except DecryptionError:
            self.report.unreadable += 1
            return
        recipient = self.keyring.user_key(row.channel, address)
        stale = self.keyring.needs_reseal(row.address_enc) or self.keyring.needs_reseal(
            row.payload_enc
        )
        if recipient == row.recipient and not stale:
            return
        await session.execute(
            update(outbox)
            .where(outbox.c.id == row.id)
            .values(
                recipient=recipient,
                address_enc=self.keyring.seal(address, address_context(recipient)),
                payload_enc=self.keyring.seal(payload, outbox_payload_context(recipient)),
            )
        )
        self.report.resealed += 2
        self.report.rekeyed += recipient != row.recipient

    async def _request_row(self, session: AsyncSession, row: Any) -> None:
        """A handoff request: its details, and the member who holds it."""
        requests = self.t["handoff_requests"]
        values: dict[str, Any] = {}
        if self.keyring.needs_reseal(row.details_enc):
            details = self._open(row.details_enc, "")
            if details is not None:
                values["details_enc"] = self.keyring.seal(details)
        if row.member_address_enc is not None and row.member_channel is not None:
            address = self._open(row.member_address_enc, "")
            if address is not None:
                member_key = self.keyring.user_key(row.member_channel, address)
                if member_key != row.member_key:
                    values["member_key"] = member_key
                    self.report.rekeyed += 1
                if self.keyring.needs_reseal(row.member_address_enc):
                    values["member_address_enc"] = self.keyring.seal(address)
        if values:
            self.report.resealed += len({"details_enc", "member_address_enc"} & set(values))
            await session.execute(update(requests).where(requests.c.id == row.id).values(values))

    async def _web_session(self, session: AsyncSession, row: Any) -> None:
        """A web chat session: its sealed address (bound to the row) under the
        new key, and its pseudonym computed anew from that address, whether or
        not she ever wrote (a session without a ``users`` row is not re-keyed
        by the users phase)."""
        context = web_sessions.address_context(row.id)
        address = self._open(row.address_enc, context)
        if address is None:
            return
        new_key = self.keyring.user_key("web", address)
        if new_key == row.user_key and not self.keyring.needs_reseal(row.address_enc):
            return
        table = self.t["web_sessions"]
        values = {"user_key": new_key, "address_enc": self.keyring.seal(address, context)}
        await session.execute(update(table).where(table.c.id == row.id).values(values))
        self.report.resealed += 1

    def _plain(self, table_name: str, pk: str, column: str) -> Callable[[AsyncSession, Any], Any]:
        table = self.t[table_name]

        async def reseal(session: AsyncSession, row: Any) -> None:
            key = getattr(row, pk)
            sealed = getattr(row, column)
            if key == PROGRESS or not sealed or not self.keyring.needs_reseal(sealed):
                return
            try:
                plain = self.keyring.open_bytes(sealed)
            except DecryptionError:
                self.report.unreadable += 1
                return
            resealed = self.keyring.seal(plain)
            stmt = update(table).where(table.c[pk] == key).values({column: resealed})
            await session.execute(stmt)
            self.report.resealed += 1

        return reseal


# ---- command line ---------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = subparsers.add_parser("keys", help="secret key maintenance")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser(
        "rotate",
        help="re-seal every value and re-key every pseudonym under HELPLINE_SECRET_KEY",
    )
    rotate.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="stop after this many rows (run again to continue where it stopped)",
    )
    rotate.set_defaults(func=cmd_rotate)


def cmd_rotate(args: argparse.Namespace) -> int:
    from bot.settings import settings_or_exit

    settings = settings_or_exit()
    assert settings.secret_key is not None

    async def main() -> Report:
        db = Database(settings.database_url)
        try:
            await db.upgrade()
            ring = KeyRing(settings.secret_key or "", settings.old_secrets())
            return await Rotation(db, ring, max_rows=args.max_rows).run()
        finally:
            await db.dispose()

    report = asyncio.run(main())
    print(report.line())
    if report.done and report.unreadable == 0 and report.collisions == 0:
        print("every value is under the current key: HELPLINE_OLD_SECRET_KEYS may now be emptied")
    return 0 if report.unreadable == 0 else 1


__all__ = ["Report", "Rotation"]

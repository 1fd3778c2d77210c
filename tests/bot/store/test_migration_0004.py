"""Migration 0004 rebuilds tables on SQLite (AUTOINCREMENT): an existing
database keeps every row, the handoff children are not cascaded away with the
old parent table, and foreign keys work again afterwards."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from bot.store.db import Database, alembic_config

REQUEST = (
    "insert into handoff_requests (id, alias, user_key, status, team_id, original_team_id,"
    " language, details_enc, created_at, queued_at, last_activity_at, from_user_count,"
    " from_member_count) values (7, 'K7Q2', 'u', 'queued', 't', 't', 'vi', 'x',"
    " '2026-01-01', '2026-01-01', '2026-01-01', 0, 0)"
)
CARD = (
    "insert into handoff_cards (request_id, team_id, channel, address_enc, state, created_at)"
    " values (7, 't', 'telegram', 'a', 'open', '2026-01-01')"
)
MESSAGE = (
    "insert into handoff_messages (request_id, kind, body_enc, created_at, delivered)"
    " values (7, 'user', 'b', '2026-01-01', 0)"
)


def _sql(path: Path, *statements: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            rows = conn.execute(statement).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


async def test_upgrade_from_0003_keeps_rows_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    cfg = alembic_config()

    def to_0003(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")

    async with db.engine.begin() as conn:
        await conn.run_sync(to_0003)
    await db.dispose()
    _sql(path, REQUEST, CARD, MESSAGE)

    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    await db.dispose()

    assert _sql(path, "select count(*) from handoff_cards") == [(1,)]
    assert _sql(path, "select count(*) from handoff_messages") == [(1,)]
    schema = _sql(path, "select sql from sqlite_master where name = 'handoff_requests'")
    assert "AUTOINCREMENT" in str(schema[0][0])
    _sql(path, "delete from handoff_requests where id = 7")
    assert _sql(path, "select count(*) from handoff_cards") == [(0,)], "cascade works again"
    # The next request gets a new id, not 7 again.
    _sql(path, REQUEST.replace("(id, ", "(").replace("values (7, ", "values ("))
    assert _sql(path, "select id from handoff_requests") == [(8,)]

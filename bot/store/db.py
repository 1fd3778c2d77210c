"""The database handle: one async engine, sessions, migrations, dialect details.

SQLite (the default) gets a single shared connection: SQLite serialises
writers anyway, and one connection avoids "database is locked" retries.
PostgreSQL gets a pool, and row locks do the serialising across processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool

log = logging.getLogger(__name__)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("bot.store") / "migrations"))
    return cfg


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = url.startswith("postgresql")
        # Error messages and tracebacks must not carry statement parameters:
        # they hold pseudonyms and sealed values.
        kwargs: dict[str, Any] = {"hide_parameters": True}
        if self.is_postgres:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        else:
            kwargs.update(
                poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=120
            )
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.sqlite_path: str | None = None
        if not self.is_postgres:
            self.sqlite_path = _sqlite_file(url)
            if self.sqlite_path is not None:
                _private_file(self.sqlite_path)
            event.listen(self.engine.sync_engine, "connect", self._on_sqlite_connect)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        cfg = alembic_config()

        def _run(conn: Connection) -> None:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

        async with self.engine.connect() as conn:
            if not self.is_postgres:
                # Rebuilding a parent table (batch migrations) must not cascade
                # deletes to its children; the pragma only works outside a
                # transaction, and is checked and restored afterwards.
                await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await conn.commit()
            try:
                async with conn.begin():
                    await conn.run_sync(_run)
                    if not self.is_postgres:
                        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
                        if broken:
                            raise RuntimeError("migration left rows without their parent")
            finally:
                if not self.is_postgres:
                    await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                    await conn.commit()

    async def ping(self, seconds: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(seconds), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure means "not reachable" for a health check
            return False

    async def scrub(self) -> None:
        """Make deleted rows leave the disk as far as the database can (after an
        erase and after the retention purge; docs/privacy.md says what remains).

        SQLite: deleted content is zeroed in the database file
        (``secure_delete``), but older page images stay in the ``-wal`` file
        until a checkpoint: copy it into the database and truncate it to zero
        bytes. PostgreSQL: ``VACUUM`` the tables (outside a transaction), so
        dead row versions are marked free for reuse; their bytes remain on disk
        until overwritten, in WAL archives and in backups."""
        from bot.store.models import Base

        try:
            async with self.engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                if self.is_postgres:
                    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                    await auto.exec_driver_sql(f"VACUUM {names}")
                else:
                    await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as exc:  # never fail an erase that is already committed
            log.warning("database scrub failed: %s", type(exc).__name__)

    async def dispose(self) -> None:
        await self.engine.dispose()

    def _on_sqlite_connect(self, dbapi_conn: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, record)
        if self.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                _restrict(self.sqlite_path + suffix)

    def insert(self, table: Any) -> Any:
        """Dialect insert, for ON CONFLICT DO NOTHING / DO UPDATE."""
        return pg_insert(table) if self.is_postgres else sqlite_insert(table)

    def for_update(self, stmt: Any, *, skip_locked: bool = False) -> Any:
        """Row lock on PostgreSQL; SQLite has one writer at a time already."""
        if self.is_postgres:
            return stmt.with_for_update(skip_locked=skip_locked)
        return stmt


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (None for an in-memory database)."""
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return name


def _private_file(path: str) -> None:
    """Create the database file readable by its owner only (0600) before SQLite
    does: SQLite gives its -wal and -shm files the same mode as the database."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, stat.S_IRUSR | stat.S_IWUSR)
    os.close(fd)
    _restrict(path)


def _restrict(path: str) -> None:
    """0600 for a file that exists (a database made by an older version)."""
    try:
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    except FileNotFoundError:
        pass


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # Deleted rows are overwritten, not left readable in free pages.
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


__all__ = ["Database", "alembic_config", "select"]

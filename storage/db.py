"""Engine, sessions and migrations.

SQLite is the embedded default: WAL so readers never wait for the writer, a
busy timeout so concurrent writers queue instead of failing, and
``BEGIN IMMEDIATE`` so a transaction takes the write lock up front (a
deferred transaction that upgrades to writing can fail at once with
"database is locked", whatever the busy timeout).

Only `Database.transaction()` writes. On SQLite its transactions also queue
on an in-process lock before BEGIN IMMEDIATE, so writers of one process wait
their turn in order instead of in SQLite's busy handler (which sleeps and
retries, and made the tail latency seconds); `sessions()`, for reading, runs
on a second engine whose transactions are deferred and never take the write
lock, so a read never holds up a writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).parent / "migrations"


class NotMigrated(Exception):
    """The database schema is older than the code (or absent)."""


def make_engine(url: str, *, immediate: bool = True, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; on SQLite, `immediate` makes its transactions take the
    write lock at BEGIN (for writers), else they are deferred (for readers)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine, immediate=immediate)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let "begin" below issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """The engine and a session factory; one per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._writes = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: asyncio.Lock | None = None
        self._read_engine: AsyncEngine | None = None
        if url.startswith("sqlite"):
            self._write_lock = asyncio.Lock()
            self._read_engine = make_engine(url, immediate=False, **engine_kwargs)
        # For reading; anything that writes goes through transaction().
        self.sessions = async_sessionmaker(self._read_engine or self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self._write_lock is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on exit, rolled back on error."""
        if self._write_lock is None:
            async with self._writes() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._writes() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def require_migrated(self) -> None:
        """Raise NotMigrated unless the schema is at the newest revision."""
        async with self.engine.connect() as conn:
            current = await conn.run_sync(_current_revision)
        head = ScriptDirectory.from_config(alembic_config(self.url)).get_current_head()
        if current != head:
            have = current or "no schema"
            raise NotMigrated(
                f"the database is not migrated (it has {have}, the code needs {head}); "
                "run `turnout migrate` first"
            )

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._read_engine is not None:
            await self._read_engine.dispose()


def _current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema up to `revision` (blocking; call from a thread in async code)."""
    command.upgrade(alembic_config(url), revision)

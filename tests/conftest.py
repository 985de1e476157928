"""Shared fixtures: a database on each engine, and a whole Turnout on fakes.

Storage and end-to-end tests take `database_url`, which runs them on SQLite
always and on PostgreSQL when TURNOUT_TEST_POSTGRES_URL is set (`.ci/run`
and `make test` set it); without it the PostgreSQL runs skip and say why.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.fakes.world import World

POSTGRES_URL = os.environ.get("TURNOUT_TEST_POSTGRES_URL")
SKIP_POSTGRES = (
    "PostgreSQL tests need TURNOUT_TEST_POSTGRES_URL, e.g. "
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test (make test sets it)"
)


def shared_dir() -> Path | None:
    """The project's shared reference folder (schemas, roster generator), if present."""
    configured = os.environ.get("TURNOUT_SHARED_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared"
    return path if path.is_dir() else None


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'turnout.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip(SKIP_POSTGRES)
    async with _fresh_postgres_database(POSTGRES_URL) as url:
        yield url


class _fresh_postgres_database:
    """A new, empty database for one test, dropped afterwards."""

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url)
        self.name = f"turnout_test_{uuid.uuid4().hex[:12]}"

    def _dsn(self, database: str) -> str:
        url = self.base.set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    async def __aenter__(self) -> str:
        conn = await asyncpg.connect(self._dsn(self.base.database or "postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        return self.base.set(database=self.name).render_as_string(hide_password=False)

    async def __aexit__(self, *exc: object) -> None:
        conn = await asyncpg.connect(self._dsn(self.base.database or "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    w = await World.start(database_url)
    try:
        yield w
    finally:
        await w.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def eventually(check: object, timeout: float = 5.0) -> None:
    """Wait until `check()` is truthy (for work that lands in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)

"""Shared fixtures: a database on each engine, and a whole Turnout on fakes.

Storage and end-to-end tests take `database_url`, which runs them on SQLite
always and on PostgreSQL when TURNOUT_TEST_POSTGRES_URL is set (`.ci/run`
and `make test` set it); without it the PostgreSQL runs skip and say why.
Command-line tests take `turnout`, which runs the real `turnout` process
against a fresh SQLite file (`cli_database`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.fakes.world import World
from tests.helpers import Turnout, run_turnout

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
def cli_database(tmp_path: Path) -> str:
    """The DATABASE_URL the `turnout` fixture's processes use: a fresh SQLite file."""
    return f"sqlite+aiosqlite:///{tmp_path / 'turnout.db'}"


@pytest.fixture
def turnout(tmp_path: Path, cli_database: str) -> Turnout:
    """Run `python -m bot.cli ...` in `tmp_path` (away from any `.env`) on `cli_database`.

    Takes `run_turnout`'s keywords; `env` adds to DATABASE_URL (or overrides it).
    """

    def run(*args: str, env: dict[str, str] | None = None, **options: Any) -> CompletedProcess[str]:
        return run_turnout(
            *args, cwd=tmp_path, env={"DATABASE_URL": cli_database, **(env or {})}, **options
        )

    return run


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

#!/usr/bin/env python3
"""Benchmark the member import at national-ballot scale (27,000 rows).

    .venv/bin/python scripts/bench_import.py
    .venv/bin/python scripts/bench_import.py --postgres postgresql+asyncpg://postgres@127.0.0.1/test

Generates the roster with the shared ``make_members.py`` into a temporary
folder, and on a fresh, migrated database times: parsing alone, the first
import, a re-import of the same file (every member unchanged) and of a file
with 5% of members changed. For comparison it also times the obvious
per-row approach (SELECT the member, then ORM ``add`` and ``flush``) on a
slice and scales it up, because the point of the bulk upsert is that an
organiser re-importing a roster waits seconds, not minutes.

With ``--postgres URL`` the same runs against a scratch database created
next to the one URL names (and dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.roster.importer import MemberRow, read_roster
from bot.roster.members import ImportReport, import_roster
from storage.db import Database, migrate
from storage.models import Campaign, Member

REPO_ROOT = Path(__file__).resolve().parents[1]
CHANGED_SHARE = 20  # every 20th member changed: 5%


@dataclass
class Timing:
    engine: str
    step: str
    seconds: float
    rows: int
    detail: str = ""

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds else float("inf")
        return f"{self.engine:<10} {self.step:<44} {self.seconds:>8.2f} s {rate:>10,.0f} rows/s" + (
            f"   {self.detail}" if self.detail else ""
        )


def make_members_script() -> Path:
    configured = os.environ.get("TURNOUT_SHARED_DIR")
    shared = Path(configured) if configured else REPO_ROOT.parent / "shared"
    script = shared / "data" / "make_members.py"
    if not script.is_file():
        sys.exit(f"bench_import: {script} not found (set TURNOUT_SHARED_DIR)")
    return script


def generate_roster(folder: Path, rows: int) -> tuple[bytes, bytes]:
    """The roster, and a copy with every twentieth member's details changed."""
    path = folder / "members.csv"
    subprocess.run(
        [sys.executable, str(make_members_script()), "-n", str(rows), "-o", str(path)],
        check=True,
    )
    original = path.read_bytes()
    reader = csv.DictReader(io.StringIO(original.decode("utf-8"), newline=""))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(reader.fieldnames or []))
    writer.writeheader()
    for i, row in enumerate(reader):
        if i % CHANGED_SHARE == 0:
            row["department"] = "Changed " + row["department"]
            row["last_name"] = row["last_name"] + "-Smith"
        writer.writerow(row)
    return original, out.getvalue().encode("utf-8")


@asynccontextmanager
async def sqlite_database(folder: Path) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"


@asynccontextmanager
async def postgres_database(base_url: str) -> AsyncIterator[str]:
    """A scratch database beside the one ``base_url`` names, dropped afterwards."""
    base = make_url(base_url)
    name = f"turnout_bench_{uuid.uuid4().hex[:10]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def add_campaign(db: Database, slug: str) -> int:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        campaign = Campaign(slug=slug, name=slug, config={}, created_at=now, updated_at=now)
        session.add(campaign)
        await session.flush()
        return campaign.id


class StageClock:
    """Splits an import's time at its first write, from its progress calls.

    Before it: parsing, the opt-out check, loading the campaign's members
    and deciding every row; after it: the bulk writes and the commit.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stage_starts: list[float] = []

    def __call__(self, done: int, _total: int) -> None:
        if done == 0:
            self.stage_starts.append(time.perf_counter())

    def split(self, finished: float) -> str:
        if len(self.stage_starts) < 2:
            return ""
        before = self.stage_starts[1] - self.started
        return f"(read+plan {before:.2f} s, write {finished - self.stage_starts[1]:.2f} s)"


async def timed_import(db: Database, data: bytes, engine: str, step: str) -> Timing:
    clock = StageClock()
    report: ImportReport = await import_roster(
        db, "bench", data, region="GB", now=datetime.now(UTC), progress=clock
    )
    finished = time.perf_counter()
    counts = f"{report.created:,} new, {report.updated:,} updated, {report.unchanged:,} unchanged"
    return Timing(
        engine, step, finished - clock.started, report.rows, f"{counts} {clock.split(finished)}"
    )


async def naive_apply(db: Database, campaign_id: int, rows: list[MemberRow]) -> float:
    """What a straightforward import does: a SELECT and an INSERT round trip per row."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    async with db.transaction() as session:
        for row in rows:
            found = await session.execute(
                select(Member).where(
                    Member.campaign_id == campaign_id,
                    (Member.membership_no == row.membership_no) | (Member.phone == row.phone),
                )
            )
            if found.scalars().first() is None:
                session.add(
                    Member(
                        campaign_id=campaign_id,
                        phone=row.phone,
                        first_name=row.first_name or "",
                        last_name=row.last_name or "",
                        branch=row.branch or "",
                        membership_no=row.membership_no,
                        fields={k: v for k, v in row.fields.items() if v},
                        created_at=now,
                        updated_at=now,
                    )
                )
                await session.flush()
    return time.perf_counter() - started


async def bench_engine(
    engine: str, url: str, original: bytes, modified: bytes, naive_rows: int
) -> list[Timing]:
    await asyncio.to_thread(migrate, url)
    db = Database(url)
    try:
        await add_campaign(db, "bench")
        timings = [
            await timed_import(db, original, engine, "first import"),
            await timed_import(db, original, engine, "re-import, same file"),
            await timed_import(db, modified, engine, "re-import, 5% of members changed"),
        ]
        plan = read_roster(original, region="GB")
        naive_id = await add_campaign(db, "naive")
        slice_ = plan.rows[:naive_rows]
        seconds = await naive_apply(db, naive_id, slice_)
        scale = len(plan.rows) / len(slice_)
        timings.append(
            Timing(
                engine,
                f"naive SELECT+add+flush per row ({len(slice_):,})",
                seconds,
                len(slice_),
                f"writes only; ≈ {seconds * scale:.1f} s for all {len(plan.rows):,} members",
            )
        )
        return timings
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rows", type=int, default=27000, help="roster rows (27000)")
    parser.add_argument("--naive-rows", type=int, default=2000, help="rows for the naive baseline")
    parser.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL at URL")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="turnout-bench-") as tmp:
        folder = Path(tmp)
        original, modified = generate_roster(folder, args.rows)
        started = time.perf_counter()
        plan = read_roster(original, region="GB")
        parse = Timing("-", "parse only", time.perf_counter() - started, plan.total_rows)
        print(
            f"Roster: {plan.total_rows:,} rows: {len(plan.rows):,} importable, "
            f"{len(plan.rejected):,} rejected, {plan.duplicates_merged:,} duplicates merged"
        )
        print(parse.line())
        async with sqlite_database(folder) as url:
            for timing in await bench_engine("sqlite", url, original, modified, args.naive_rows):
                print(timing.line())
        if args.postgres:
            async with postgres_database(args.postgres) as url:
                for timing in await bench_engine(
                    "postgresql", url, original, modified, args.naive_rows
                ):
                    print(timing.line())


if __name__ == "__main__":
    asyncio.run(main())

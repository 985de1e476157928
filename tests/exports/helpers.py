"""What the export and purge tests share: a campaign to export, reading what came out,
and the whole database as text (to search it for what a purge must erase)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.fakes.world import ADMIN, World
from storage import users
from storage.db import Database
from storage.models import AuditEntry, Base
from tests.helpers import ALICE, BOB, T0, campaign_world

CAMPAIGN = """\
slug: pay-ballot
name: Pay ballot
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: 2021-11-04T12:00:00+00:00
data_protection: Keep members' data safe.
initial: Hi {first_name}, have you posted your ballot yet?
outcomes:
  - {key: voted, label: Voted}
  - {key: will_vote, label: Will vote}
"""

ROSTER = """\
membership_no,first_name,last_name,phone,branch
M1,Sam,Jones,07400 100001,Leeds
M2,Priya,Patel,07400 100002,Leeds
M3,Zoë,Smith,07400 100003,Bath
"""
USERS = (
    (ADMIN, "Ada Organiser", None),
    (ALICE, "Alice Activist", None),
    (BOB, "Bob Builder", None),
)


@asynccontextmanager
async def export_world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """The campaign active at T0 with ROSTER imported, Alice known by name."""
    async with campaign_world(database_url, tmp_path, CAMPAIGN, roster=ROSTER, users=USERS) as w:
        async with w.rt.db.transaction() as session:
            await users.upsert(session, ALICE, now=T0, name="Alice Activist")
        yield w


def csv_rows(upload: dict[str, Any]) -> list[dict[str, str]]:
    content = upload["content"]
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so Excel reads Zoë right"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


async def audits(world: World, action: str) -> list[AuditEntry]:
    async with world.rt.db.sessions() as session:
        result = await session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
        return list(result.scalars())


async def database_text(db: Database, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every row of every table as text, by table (bytes decoded, JSON dumped)."""
    found: dict[str, str] = {}
    async with db.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            result = await session.execute(select(table))
            found[table.name] = "\n".join(
                " | ".join(_text(value) for value in row) for row in result.all()
            )
    return found


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)

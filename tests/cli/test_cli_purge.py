"""`turnout audit` and `turnout campaign purge` as an admin runs them: real processes."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.campaigns import lifecycle
from storage.db import Database
from storage.models import Member
from tests.exports.helpers import database_text
from tests.helpers import FIXTURES, Turnout

EXAMPLE = FIXTURES / "campaign.yml"
SLUG = "pay-ballot-2021"
ROSTER = "first_name,last_name,phone,branch\nSam,Jones,07400 100001,Leeds\n"


@pytest.fixture
def campaign(turnout: Turnout, tmp_path: Path) -> None:
    """The example campaign with one member, as `migrate`, `load` and `import` leave it."""
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    for args in (
        ("migrate",),
        ("campaign", "load", str(EXAMPLE)),
        ("members", "import", str(roster), "--campaign", SLUG),
    ):
        done = turnout(*args)
        assert done.returncode == 0, done.stderr


def move(database: str, *states: str) -> None:
    async def run() -> None:
        db = Database(database)
        try:
            for state in states:
                await lifecycle.set_state(db, SLUG, state, datetime.now(UTC), actor="U0ORG")
        finally:
            await db.dispose()

    asyncio.run(run())


def member_names(database: str) -> list[str]:
    async def run() -> list[str]:
        db = Database(database)
        try:
            async with db.sessions() as session:
                return [m.full_name for m in await session.scalars(select(Member))]
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_audit_prints_the_log_oldest_first(
    turnout: Turnout, campaign: None, cli_database: str
) -> None:
    move(cli_database, "active", "closed")
    lines = turnout("audit").stdout.splitlines()
    assert [line.split("  ")[2] for line in lines] == [
        "campaign_created",
        "campaign_state",
        "campaign_state",
    ]
    assert lines[1].endswith(f"  U0ORG  campaign_state  campaign={SLUG} before=draft after=active")
    assert lines[0][:20].endswith("Z")  # UTC

    as_json = [json.loads(line) for line in turnout("audit", "--json").stdout.splitlines()]
    assert as_json[2]["detail"] == {"campaign": SLUG, "before": "active", "after": "closed"}

    later = turnout("audit", "--since", "2999-01-01")
    assert later.returncode == 0 and later.stdout == ""
    assert "no entries since 2999-01-01T00:00:00Z" in later.stderr
    assert turnout("audit", "--since", as_json[1]["at"]).stdout.count("\n") >= 2

    bad = turnout("audit", "--since", "yesterday")
    assert bad.returncode == 2
    assert "'yesterday' is not an ISO-8601 date or time" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_purge_is_refused_until_closed_and_confirmed(
    turnout: Turnout, campaign: None, cli_database: str
) -> None:
    move(cli_database, "active")
    active = turnout("campaign", "purge", SLUG, "--yes")
    assert active.returncode == 1
    assert "is active, and only a closed campaign can be purged" in active.stderr

    move(cli_database, "closed")
    piped = turnout("campaign", "purge", SLUG, stdin=subprocess.PIPE)
    assert piped.returncode == 1
    assert "confirmation needs a terminal; pass --yes" in piped.stderr
    assert "This erases the personal data of campaign" in piped.stdout

    wrong = _at_a_terminal(turnout, "pay-ballot-2022\n")
    assert wrong.returncode == 1
    assert "Type the campaign slug to confirm:" in wrong.stdout
    assert "the slug typed did not match" in wrong.stderr
    assert member_names(cli_database) == ["Sam Jones"]

    right = _at_a_terminal(turnout, SLUG + "\n")
    assert right.returncode == 0, right.stderr
    assert f"Purged campaign {SLUG}:" in right.stdout
    assert "  1 members: names, phone numbers, membership numbers, fields" in right.stdout
    assert "The global opt-out list is kept" in right.stdout
    assert member_names(cli_database) == ["Member"]


def test_purge_with_yes_and_its_record_in_the_audit_log(
    turnout: Turnout, campaign: None, cli_database: str
) -> None:
    move(cli_database, "active", "closed")
    purged = turnout("campaign", "purge", SLUG, "--yes", "--slack")
    assert purged.returncode == 0, purged.stderr
    assert "Kept for the record" in purged.stdout
    assert "  1 members, 0 members texted, 0 texts sent" in purged.stdout

    [entry] = [
        json.loads(line)
        for line in turnout("audit", "--json").stdout.splitlines()
        if json.loads(line)["action"] == "purge"
    ]
    assert entry["actor"].startswith("cli")
    assert entry["detail"]["members"] == 1 and entry["detail"]["erased"]["members"] == 1

    async def scan() -> dict[str, str]:
        db = Database(cli_database)
        try:
            return await database_text(db)
        finally:
            await db.dispose()

    everything = "\n".join(asyncio.run(scan()).values())
    assert "Sam" not in everything and "7400100001" not in everything

    again = turnout("campaign", "purge", SLUG, "--yes")
    assert again.returncode == 0 and f"Purged again campaign {SLUG}" in again.stdout


def _at_a_terminal(turnout: Turnout, typed: str) -> subprocess.CompletedProcess[str]:
    """Run the purge with stdin a pseudo-terminal on which `typed` is waiting."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, typed.encode())
        return turnout("campaign", "purge", SLUG, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(controller)

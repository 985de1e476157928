"""Importing rosters into a campaign: upserts, opt-outs kept, all or nothing, the CLI."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

import storage.db
from bot.cli.members import ProgressBar
from bot.roster.members import ImportReport, RosterError, import_roster
from storage import members, optouts
from storage.db import Database
from storage.models import Campaign, Member, OptOut
from tests.conftest import shared_dir
from tests.helpers import Turnout

NOW = datetime(2021, 10, 14, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)

ROSTER = """\
membership_no,first_name,last_name,phone,branch,department
M1,Sam,Jones,07400 100001,Leeds,History
M2,Priya,Patel,+44 7400 100002,Leeds,Physics
M3,Tom,Evans,447400100003,York,Law
M4,Bad,Phone,0161 496 0000,Leeds,Law
"""


@dataclass
class Setup:
    db: Database
    campaign_id: int

    async def import_(
        self, data: str | bytes, *, strict: bool = False, now: datetime = LATER
    ) -> ImportReport:
        return await import_roster(self.db, "pay-ballot", data, region="GB", strict=strict, now=now)

    async def members(self) -> dict[str, Member]:
        async with self.db.sessions() as session:
            result = await session.execute(
                select(Member).where(Member.campaign_id == self.campaign_id)
            )
            return {m.membership_no or m.phone: m for m in result.scalars()}

    async def count(self) -> int:
        async with self.db.sessions() as session:
            return await members.count_for_campaign(session, self.campaign_id)


async def add_campaign(db: Database, slug: str) -> int:
    async with db.transaction() as session:
        campaign = Campaign(slug=slug, name=slug, config={}, created_at=NOW, updated_at=NOW)
        session.add(campaign)
        await session.flush()
        return campaign.id


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    await asyncio.to_thread(storage.db.migrate, database_url)
    db = Database(database_url)
    try:
        yield Setup(db, await add_campaign(db, "pay-ballot"))
    finally:
        await db.dispose()


async def test_an_import_creates_members_with_their_fields(setup: Setup) -> None:
    report = await setup.import_(ROSTER)
    assert (report.rows, report.importable, report.created) == (4, 3, 3)
    assert [(r.row_number, r.reason) for r in report.rejected] == [
        (5, "a landline cannot receive texts")
    ]
    sam = (await setup.members())["M1"]
    assert (sam.phone, sam.first_name, sam.last_name, sam.branch) == (
        "+447400100001",
        "Sam",
        "Jones",
        "Leeds",
    )
    assert sam.fields == {"department": "History"}
    assert sam.created_at == LATER
    assert await setup.count() == 3


async def test_a_reimport_updates_members_instead_of_duplicating_them(setup: Setup) -> None:
    await setup.import_(ROSTER, now=NOW)
    before = await setup.members()
    changed = ROSTER.replace("Sam,Jones", "Samuel,Jones").replace("+44 7400 100002", "07400100022")
    report = await setup.import_(changed)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    after = await setup.members()
    assert await setup.count() == 3
    assert after["M1"].id == before["M1"].id and after["M1"].first_name == "Samuel"
    assert after["M1"].updated_at == LATER and after["M3"].updated_at == NOW
    # The membership number is the identity, so a new phone moves with the member.
    assert after["M2"].id == before["M2"].id and after["M2"].phone == "+447400100022"


async def test_absent_columns_are_left_alone_and_blank_fields_removed(setup: Setup) -> None:
    await setup.import_(ROSTER)
    report = await setup.import_("membership_no,phone,department\nM1,07400100001,\n")
    assert report.updated == 1
    sam = (await setup.members())["M1"]
    assert (sam.first_name, sam.branch, sam.fields) == ("Sam", "Leeds", {})


async def test_a_phone_taken_by_another_member_is_a_rejected_row(setup: Setup) -> None:
    await setup.import_(ROSTER)
    clash = "membership_no,phone,first_name\nM1,07400100002,Sam\nM3,447400100003,Thomas\n"
    report = await setup.import_(clash)
    assert [(r.row_number, r.reason) for r in report.rejected] == [
        (2, "its phone number is another member's in this campaign")
    ]
    assert (report.updated, report.importable) == (1, 1)
    stored = await setup.members()
    assert stored["M1"].phone == "+447400100001" and stored["M3"].first_name == "Thomas"


async def test_a_row_that_is_the_same_member_as_an_earlier_row_is_rejected(setup: Setup) -> None:
    await setup.import_(ROSTER)
    # Row 2 moves M1 to a new phone; row 3 (no membership number) has M1's old phone.
    report = await setup.import_("membership_no,phone\nM1,07400100091\n,07400100001\n")
    assert [(r.row_number, r.reason) for r in report.rejected] == [
        (3, "is the same member (by phone number) as row 2")
    ]
    assert await setup.count() == 3


async def test_an_opted_out_member_stays_opted_out_after_reimport(setup: Setup) -> None:
    await setup.import_(ROSTER)
    async with setup.db.transaction() as session:
        await optouts.add(session, "+447400100002", source="keyword", now=NOW, detail="STOP")
    report = await setup.import_(ROSTER.replace("Priya", "Priyanka"))
    assert report.already_opted_out == 1
    assert "Already opted out: 1 — they will not be texted" in report.summary()
    async with setup.db.sessions() as session:
        [opt_out] = (await session.execute(select(OptOut))).scalars().all()
    assert (opt_out.phone, opt_out.source, opt_out.detail) == ("+447400100002", "keyword", "STOP")
    assert opt_out.created_at == NOW
    assert (await setup.members())["M2"].first_name == "Priyanka"


async def test_strict_refuses_the_whole_file_when_a_row_is_rejected(setup: Setup) -> None:
    report = await setup.import_(ROSTER, strict=True)
    assert report.refused and report.created == 0
    assert report.summary().startswith("Nothing was imported into pay-ballot")
    assert "row 5: a landline cannot receive texts" in report.summary()
    assert await setup.count() == 0
    clean = await setup.import_(ROSTER.replace("0161 496 0000", "07400100004"), strict=True)
    assert not clean.refused and clean.created == 4


async def test_strict_rolls_back_when_the_database_rejects_a_row(setup: Setup) -> None:
    await setup.import_(ROSTER)
    clash = "membership_no,phone,first_name\nM3,447400100003,Thomas\nM1,07400100002,Sam\n"
    report = await setup.import_(clash, strict=True)
    assert report.refused and [r.row_number for r in report.rejected] == [3]
    assert (await setup.members())["M3"].first_name == "Tom"  # the update was rolled back


async def test_a_failure_part_way_leaves_nothing_half_imported(
    setup: Setup, database_url: str
) -> None:
    header = "membership_no,first_name,phone\n"
    first = "".join(f"M{n},Old{n},07400{100000 + n}\n" for n in range(100))
    await setup.import_(header + first)
    # Past the updates and the first insert chunk, the database refuses a row.
    big = "".join(f"M{n},New{n},07400{100000 + n}\n" for n in range(2500))
    await _fail_inserts_of(setup.db, database_url, "+447400101800")
    with pytest.raises(DBAPIError, match="forced failure"):
        await setup.import_(header + big)
    stored = await setup.members()
    assert await setup.count() == 100
    assert {m.first_name for m in stored.values()} == {f"Old{n}" for n in range(100)}


async def _fail_inserts_of(db: Database, url: str, phone: str) -> None:
    async with db.transaction() as session:
        if url.startswith("sqlite"):
            await session.execute(
                text(
                    "CREATE TRIGGER fail_import BEFORE INSERT ON members "
                    f"WHEN NEW.phone = '{phone}' BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
                )
            )
            return
        await session.execute(
            text(
                "CREATE FUNCTION fail_import() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.phone = '{phone}' THEN RAISE EXCEPTION 'forced failure'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER fail_import BEFORE INSERT ON members "
                "FOR EACH ROW EXECUTE FUNCTION fail_import()"
            )
        )


async def test_missing_fields_are_the_script_fields_no_column_provides(setup: Setup) -> None:
    report = await setup.import_("phone,First Name,Department\n07400100001,Sam,History\n")
    script = {"first_name", "activist_first_name", "branch", "department", "ballot_closes_date"}
    assert report.missing_fields(script) == {"branch"}
    assert report.missing_fields({"last_name", "pay_grade"}) == {"last_name", "pay_grade"}


async def test_an_unknown_campaign_is_refused_naming_the_campaigns(setup: Setup) -> None:
    await add_campaign(setup.db, "strike-2022")
    with pytest.raises(RosterError, match="the campaigns are: pay-ballot, strike-2022"):
        await import_roster(setup.db, "pay-balot", ROSTER, region="GB", now=NOW)
    assert await setup.count() == 0


async def test_a_campaign_can_be_named_by_id(setup: Setup) -> None:
    report = await import_roster(setup.db, setup.campaign_id, ROSTER, region="GB", now=NOW)
    assert report.campaign == "pay-ballot" and report.created == 3


async def test_opted_out_phones_handles_more_phones_than_one_query_takes(setup: Setup) -> None:
    phones = [f"+4474001{n:05d}" for n in range(1200)]
    async with setup.db.transaction() as session:
        for phone in phones[::400]:
            await optouts.add(session, phone, source="keyword", now=NOW)
    async with setup.db.sessions() as session:
        assert await members.opted_out_phones(session, phones) == set(phones[::400])


async def test_the_national_roster_imports_and_reimports(
    setup: Setup, database_url: str, tmp_path: Path
) -> None:
    shared = shared_dir()
    if shared is None or not database_url.startswith("sqlite"):
        pytest.skip("the 27,000-row import runs on SQLite, with the shared generator")
    roster = tmp_path / "members.csv"
    generator = shared / "data" / "make_members.py"
    command = [sys.executable, str(generator), "-o", str(roster)]
    await asyncio.to_thread(subprocess.run, command, check=True)
    first = await setup.import_(roster.read_bytes())
    assert first.rows == 27000
    assert first.created == first.importable == await setup.count()
    assert first.importable + len(first.rejected) + first.duplicates_merged == 27000
    again = await setup.import_(roster.read_bytes())
    assert (again.created, again.updated, again.unchanged) == (0, 0, first.importable)


# The command line, as an organiser runs it.


def test_the_progress_bar_redraws_in_place_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = ProgressBar(stream)
    bar.REDRAW_SECONDS = 0  # draw every update, not ten a second
    bar.update(0, 27000)
    bar.update(12000, 27000)
    bar.update(27000, 27000)
    bar.close()
    output = stream.getvalue()
    assert "\rImporting" not in output  # the first stage is reading
    assert "\rReading    12,000/27,000 rows [=============>                ]  44%" in output
    assert output.endswith("100%\n")


def test_the_progress_bar_writes_a_few_plain_lines_elsewhere() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    for _stage in range(2):
        for done in range(0, 27001, 1000):
            bar.update(done, 27000)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 10
    assert lines[-1].startswith("Importing  27,000/27,000 rows [======")


async def _add_campaign_at(url: str, slug: str) -> None:
    db = Database(url)
    try:
        await add_campaign(db, slug)
    finally:
        await db.dispose()


def test_the_cli_imports_and_reports_with_exit_codes(
    turnout: Turnout, cli_database: str, tmp_path: Path
) -> None:
    assert turnout("migrate").returncode == 0
    asyncio.run(_add_campaign_at(cli_database, "x"))
    roster = tmp_path / "members.csv"
    bad = "".join(f"M{n},Bad{n},0161 496 {n:04d},Leeds,Law\n" for n in range(60))
    roster.write_text(ROSTER + bad, encoding="utf-8")
    no_phone = tmp_path / "no_phone.csv"
    no_phone.write_text("Name,Email\nSam,s@example.org\n", encoding="utf-8")
    runs = {
        "ok": (str(roster), "--campaign", "x"),
        "strict": (str(roster), "--campaign", "x", "--strict"),
        "unknown": (str(roster), "--campaign", "nope"),
        "missing": ("gone.csv", "--campaign", "x"),
        "no_phone": (str(no_phone), "--campaign", "x"),
    }
    # Independent runs, so run them at once: each pays the interpreter's start-up.
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = {
            name: pool.submit(turnout, "members", "import", *args) for name, args in runs.items()
        }
        done = {name: future.result() for name, future in futures.items()}

    ok = done["ok"]
    assert ok.returncode == 0, ok.stderr
    assert "Imported into x: 64 rows read." in ok.stdout
    assert "3 members: 3 new, 0 updated, 0 unchanged" in ok.stdout
    assert "row 5: a landline cannot receive texts" in ok.stdout
    assert "… and 11 more" in ok.stdout  # 61 rejected, 50 listed
    assert "Reading" in ok.stderr and "Importing" in ok.stderr and "\r" not in ok.stderr

    strict = done["strict"]
    assert strict.returncode == 1
    assert "Nothing was imported" in strict.stdout and "row 5:" in strict.stdout

    unknown = done["unknown"]
    assert unknown.returncode == 2
    assert "no campaign 'nope'; the campaigns are: x" in unknown.stderr

    missing = done["missing"]
    assert missing.returncode == 2 and "cannot read gone.csv" in missing.stderr

    refused = done["no_phone"]
    assert refused.returncode == 2
    assert "no phone column" in refused.stderr and "'Name', 'Email'" in refused.stderr
    assert all("Traceback" not in run.stderr for run in done.values())

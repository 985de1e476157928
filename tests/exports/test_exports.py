"""`/turnout export`: CSV files in the organiser's DM, audited, streamed, safe in Excel.

The state (conversations, outcomes, texts, replacement requests) is written
through the ORM; the export is asked for with a signed slash command and
arrives through the real slack_sdk upload against the fake Slack.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, func, insert, literal, select

from bot.exports.export import MARK_PROCESSED_ACTION
from bot.fakes.world import ADMIN, World
from storage import users
from storage.models import (
    AuditEntry,
    Campaign,
    Conversation,
    Member,
    Message,
    OutcomeEvent,
    ReplacementRequest,
)
from storage.types import UTCDateTime
from tests.helpers import ALICE, BOB, T0, campaign_world, command

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


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with export_world(database_url, tmp_path) as w:
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


async def seed(world: World) -> dict[str, int]:
    """Each member in a conversation of Alice's, two texts each, two outcomes, and
    replacement requests from Sam (formula-like notes) and Zoë (a new address)."""
    ids: dict[str, int] = {}
    async with world.rt.db.transaction() as session:
        campaign = (await session.execute(select(Campaign))).scalar_one()
        people = (await session.execute(select(Member).order_by(Member.id))).scalars().all()
        for n, member in enumerate(people):
            conversation = Conversation(
                phone=member.phone,
                campaign_id=campaign.id,
                member_id=member.id,
                owner_id=ALICE,
                state="open",
                created_at=T0,
                updated_at=T0,
            )
            session.add(conversation)
            await session.flush()
            ids[member.first_name] = conversation.id
            for minutes, direction, body in (
                (n, "out", f"Hi {member.first_name}, have you posted your ballot yet?"),
                (n + 10, "in", f"Not yet — {member.first_name}"),
            ):
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        direction=direction,
                        kind="initial" if direction == "out" else "inbound",
                        body=body,
                        author_id=ALICE if direction == "out" else None,
                        status="delivered" if direction == "out" else "received",
                        created_at=T0 + timedelta(minutes=minutes),
                        updated_at=T0,
                    )
                )
        for name, outcome in (("Sam", "will_vote"), ("Priya", "voted")):
            decided = await session.get(Conversation, ids[name])
            assert decided is not None
            decided.outcome = outcome
            session.add(
                OutcomeEvent(
                    conversation_id=ids[name],
                    outcome=outcome,
                    previous=None,
                    user_id=ALICE,
                    at=T0 + timedelta(hours=1),
                )
            )
        by_name = {m.first_name: m for m in people}
        for name, confirmed, address, notes in (
            ("Sam", True, None, '=HYPERLINK("https://evil.example","click")'),
            ("Zoë", False, "12 New Street, Bath BA1 1AA", "Moved in October"),
        ):
            session.add(
                ReplacementRequest(
                    campaign_id=campaign.id,
                    conversation_id=ids[name],
                    member_id=by_name[name].id,
                    address_confirmed=confirmed,
                    new_address=address,
                    notes=notes,
                    requested_by=ALICE,
                    created_at=T0 + timedelta(hours=2),
                )
            )
    return ids


async def add_request(world: World, conversation_id: int, notes: str) -> None:
    async with world.rt.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.campaign_id is not None
        session.add(
            ReplacementRequest(
                campaign_id=conversation.campaign_id,
                conversation_id=conversation_id,
                member_id=conversation.member_id,
                notes=notes,
                requested_by=ALICE,
                created_at=T0 + timedelta(hours=3),
            )
        )


def mark_button(world: World, user: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The newest message in the user's DM with a Mark-processed button, and the button."""
    for message in reversed(world.slack.messages(world.slack.dm_channel(user))):
        for block in message.get("blocks") or []:
            for element in block.get("elements", []):
                if element.get("action_id") == MARK_PROCESSED_ACTION:
                    return message, element
    raise AssertionError("no Mark-processed button in the DM")


async def test_replacements_export_arrives_in_the_organisers_dm_and_is_audited(
    world: World,
) -> None:
    await seed(world)
    reply = await command(world, ADMIN, "export replacements")
    assert reply == ("Preparing the replacements export for pay-ballot; it will arrive in your DM.")
    upload = world.slack.uploads[-1]
    assert upload["channel_id"] == world.slack.dm_channel(ADMIN)
    assert upload["filename"] == "pay-ballot-replacements-20211101-100000.csv"
    assert "2 rows" in upload["initial_comment"]
    rows = csv_rows(upload)
    assert [r["Member"] for r in rows] == ["Sam Jones", "Zoë Smith"]
    zoe = rows[1]
    assert zoe["Phone"] == "'+447400100003"  # the full number, kept as text in Excel
    assert (zoe["Membership no"], zoe["Branch"]) == ("M3", "Bath")
    assert (zoe["Address confirmed"], zoe["New address"]) == ("no", "12 New Street, Bath BA1 1AA")
    assert zoe["Requested by"] == "Alice Activist"
    assert zoe["Requested at"] == "2021-11-01 12:00:00"
    assert zoe["Processed at"] == ""

    [entry] = await audits(world, "export")
    assert entry.actor == ADMIN
    assert entry.at == T0
    assert entry.detail["what"] == "replacements"
    assert entry.detail["campaign"] == "pay-ballot"
    assert entry.detail["rows"] == 2
    assert entry.detail["filename"] == upload["filename"]


async def test_a_cell_that_looks_like_a_formula_is_kept_as_text(world: World) -> None:
    await seed(world)
    await command(world, ADMIN, "export replacements")
    sam = csv_rows(world.slack.uploads[-1])[0]
    assert sam["Notes"] == '\'=HYPERLINK("https://evil.example","click")'


async def test_only_organisers_can_export(world: World) -> None:
    await seed(world)
    reply = await command(world, ALICE, "export replacements")
    assert "Only organisers" in reply
    assert world.slack.uploads == []
    assert await audits(world, "export") == []


async def test_marking_processed_by_button_leaves_them_out_of_the_next_export(
    world: World,
) -> None:
    ids = await seed(world)
    await command(world, ADMIN, "export replacements")
    message, button = mark_button(world, ADMIN)
    assert button["text"]["text"] == "Mark these 2 as processed"

    # A request made after the export was not seen by the office: it stays unprocessed.
    await add_request(world, ids["Priya"], "Never arrived")
    status, _ = await world.slack.send_block_action(
        world.service.url + "/slack/events",
        user_id=ADMIN,
        action_id=MARK_PROCESSED_ACTION,
        value=button["value"],
        channel_id=world.slack.dm_channel(ADMIN),
        message_ts=message["ts"],
    )
    assert status == 200
    await world.drain()
    replaced = world.slack.messages(world.slack.dm_channel(ADMIN))
    assert any("marked 2 replacement requests" in m["text"] for m in replaced)
    [marked] = await audits(world, "mark_processed")
    assert (marked.actor, marked.detail["rows"]) == (ADMIN, 2)

    await command(world, ADMIN, "export replacements")
    assert [r["Notes"] for r in csv_rows(world.slack.uploads[-1])] == ["Never arrived"]

    await command(world, ADMIN, "export replacements all")
    everything = csv_rows(world.slack.uploads[-1])
    assert [r["Member"] for r in everything] == ["Sam Jones", "Zoë Smith", "Priya Patel"]
    assert [r["Processed at"] != "" for r in everything] == [True, True, False]
    assert [e.detail["rows"] for e in await audits(world, "export")] == [2, 1, 3]


async def test_mark_processed_subcommand_marks_the_latest_export(world: World) -> None:
    await seed(world)
    refused = await command(world, ADMIN, "export mark-processed")
    assert "no replacements export yet" in refused

    await command(world, ADMIN, "export replacements")
    reply = await command(world, ADMIN, "export mark-processed campaign:pay-ballot")
    assert "marked 2 replacement requests" in reply
    again = await command(world, ADMIN, "export mark-processed")
    assert "already marked processed" in again

    await command(world, ADMIN, "export replacements")
    assert csv_rows(world.slack.uploads[-1]) == []
    assert [e.detail["rows"] for e in await audits(world, "mark_processed")] == [2, 0]


async def test_outcomes_export_has_each_members_current_outcome(world: World) -> None:
    await seed(world)
    await command(world, ADMIN, "export outcomes")
    rows = {r["Member"]: r for r in csv_rows(world.slack.uploads[-1])}
    assert set(rows) == {"Sam Jones", "Priya Patel", "Zoë Smith"}
    assert rows["Priya Patel"]["Outcome"] == "voted"
    assert rows["Priya Patel"]["Outcome set by"] == "Alice Activist"
    assert rows["Priya Patel"]["Outcome set at"] == "2021-11-01 11:00:00"
    assert rows["Sam Jones"]["Outcome"] == "will_vote"
    assert (rows["Zoë Smith"]["Outcome"], rows["Zoë Smith"]["Outcome set by"]) == ("", "")
    assert {r["Owner"] for r in rows.values()} == {"Alice Activist"}
    [entry] = await audits(world, "export")
    assert (entry.detail["what"], entry.detail["rows"]) == ("outcomes", 3)


async def test_conversations_export_has_every_text_in_order(world: World) -> None:
    ids = await seed(world)
    await command(world, ADMIN, "export conversations")
    rows = csv_rows(world.slack.uploads[-1])
    assert [(int(r["Conversation id"]), r["Direction"], r["Body"]) for r in rows] == [
        (ids[name], direction, body)
        for name in ("Sam", "Priya", "Zoë")
        for direction, body in (
            ("out", f"Hi {name}, have you posted your ballot yet?"),
            ("in", f"Not yet — {name}"),
        )
    ]
    assert [r["Author"] for r in rows[:2]] == ["Alice Activist", "member"]


async def test_an_unknown_export_gets_help(world: World) -> None:
    reply = await command(world, ADMIN, "export replacments")
    assert "Did you mean `replacements`?" in reply
    assert "/turnout export replacements [all]|outcomes|conversations" in reply
    assert world.slack.uploads == []


# -- a national campaign's worth of rows ---------------------------------------------

ROWS = 100_000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_100000_row_export_streams_in_modest_memory(
    database_url: str, tmp_path: Path
) -> None:
    async with export_world(database_url, tmp_path) as w:
        _accept_large_uploads(w)
        await _bulk_requests(w, ROWS)
        tracemalloc.start()
        try:
            # Traced allocation is slow: give the outbox more than the usual 30 s to drain.
            reply = await command(w, ADMIN, "export replacements", drain_timeout=120)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert "Preparing" in reply
        assert len(w.slack.uploads) == 1
        content = w.slack.uploads[0]["content"]
        assert content.count(b"\r\n") == ROWS + 1  # csv ends each row with CRLF
        # The rows stream; the file itself is held whole by slack_sdk's files_upload_v2
        # and by the fake receiving it, which is most of this peak (~13 MB of CSV).
        assert peak < 50 * 1024 * 1024, f"traced peak {peak / 2**20:.0f} MB"
        [entry] = await audits(w, "export")
        assert entry.detail["rows"] == ROWS


def _accept_large_uploads(world: World) -> None:
    """Let the fake take a file of many megabytes, as Slack does (up to 1 GB).

    aiohttp refuses request bodies over 1 MB unless told otherwise, and the
    fake's application keeps that default.
    """
    runner = world.slack._runner
    assert runner is not None
    runner.app._client_max_size = 1024**3


async def _bulk_requests(world: World, count: int) -> None:
    """``count`` members, each with a conversation and a replacement request.

    Generated inside SQLite (INSERT ... SELECT over a counting CTE): row-by-row
    executemany of 300,000 rows would take most of the test's time budget.
    """
    numbers = select(literal(1).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < count))
    at = literal(T0, UTCDateTime())
    async with world.rt.db.engine.begin() as conn:
        campaign_id = (await conn.execute(select(Campaign.id))).scalar_one()
        await conn.execute(
            insert(Member).from_select(
                [
                    "campaign_id",
                    "phone",
                    "first_name",
                    "last_name",
                    "branch",
                    "membership_no",
                    "fields",
                    "created_at",
                    "updated_at",
                ],
                select(
                    literal(campaign_id),
                    func.printf("+4474%08d", numbers.c.n),
                    literal("Member"),
                    func.printf("Number %d", numbers.c.n),
                    literal("Bulk"),
                    func.printf("B%d", numbers.c.n),
                    literal({}, JSON()),
                    at,
                    at,
                ),
            )
        )
        await conn.execute(
            insert(Conversation).from_select(
                [
                    "phone",
                    "campaign_id",
                    "member_id",
                    "owner_id",
                    "state",
                    "created_at",
                    "updated_at",
                ],
                select(
                    Member.phone,
                    Member.campaign_id,
                    Member.id,
                    literal(ALICE),
                    literal("open"),
                    at,
                    at,
                ).where(Member.branch == "Bulk"),
            )
        )
        await conn.execute(
            insert(ReplacementRequest).from_select(
                [
                    "campaign_id",
                    "conversation_id",
                    "member_id",
                    "address_confirmed",
                    "new_address",
                    "notes",
                    "requested_by",
                    "created_at",
                ],
                select(
                    Conversation.campaign_id,
                    Conversation.id,
                    Conversation.member_id,
                    literal(False),
                    literal("1 Long Road, Leeds LS1 1AA"),
                    literal("Lost in the post"),
                    literal(ALICE),
                    at,
                ).order_by(Conversation.id),
            )
        )

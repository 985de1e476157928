"""`/turnout export`: CSV files in the organiser's DM, audited, safe in Excel.

The state (conversations, outcomes, texts, replacement requests) is written
through the ORM; the export is asked for with a signed slash command and
arrives through the real slack_sdk upload against the fake Slack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.exports.export import MARK_PROCESSED_ACTION
from bot.fakes.world import ADMIN, World
from storage.models import (
    Campaign,
    Conversation,
    Member,
    Message,
    OutcomeEvent,
    ReplacementRequest,
)
from tests.exports.helpers import audits, csv_rows, export_world
from tests.helpers import ALICE, T0, command


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with export_world(database_url, tmp_path) as w:
        yield w


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

"""Importing members by uploading a CSV to the app's DM: preview, Import, Cancel.

Driven as an organiser drives it: a file shared in the DM (a signed
``file_share`` event from the fake Slack), the app downloading it with its
bot token, the preview DM, and the buttons clicked on it.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.campaigns import lifecycle, roles
from bot.fakes.world import ADMIN, World
from bot.roster.upload_blocks import CANCEL_ACTION, IMPORT_ACTION
from storage import optouts
from storage.models import AuditEntry, Member, PendingImport
from tests.conftest import shared_dir
from tests.helpers import ALICE, ALICE_USER, campaign_world, click, count, rows

ORGANISER = "U0ORGANISER"
NOW = datetime(2021, 11, 1, 10, 0, tzinfo=UTC)

CAMPAIGN = """\
slug: pay-ballot
name: Pay ballot — get out the vote
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: 2021-11-04T12:00:00+00:00
turnout_threshold: 0.5
data_protection: >
  You are handling members' personal data on the union's behalf.
initial: >
  Hi {first_name}, it's {activist_first_name} from {department}.
  Have you posted your ballot yet?
scripts:
  rota: See you on your {shift} shift, {first_name}!
outcomes:
  - {key: voted, label: Voted}
"""

# Rows 4 and 8 are landlines, row 5 has no phone, row 6 repeats row 2, and
# row 9's number is on the opt-out list: 4 members to import.
ROSTER = b"""\
membership_no,first_name,last_name,phone,branch,department
M1,Sam,Jones,07400 100001,Leeds,History
M2,Priya,Patel,+44 7400 100002,Leeds,Physics
M3,Tom,Evans,0161 496 0000,Leeds,Law
M4,No,Phone,,Leeds,Law
M1,Sam,Jones,07400100001,Leeds,History
M6,Ana,Khan,07400100006,Leeds,Nursing
M7,Bad,Phone,0161 496 0001,Leeds,Law
M8,Mei,Chen,07400100008,Bath,Music
"""
OPTED_OUT = "+447400100008"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    users = [(ORGANISER, "Olu Organiser", "Olu"), ALICE_USER]
    async with campaign_world(
        database_url, tmp_path, CAMPAIGN, users=users, clock=lambda: NOW
    ) as w:
        await roles.set_role(w.rt, ADMIN, ORGANISER, "organiser")
        async with w.rt.db.transaction() as session:
            await optouts.add(session, OPTED_OUT, source="sms", now=NOW)
        yield w


async def upload(
    world: World,
    user: str,
    content: bytes,
    *,
    filename: str = "members.csv",
    filetype: str = "csv",
    text: str = "",
    event_id: str | None = None,
) -> dict[str, Any]:
    """Share a file in the user's DM with the app; returns the event sent."""
    channel = world.slack.dm_channel(user)
    event = world.slack.share_file_as_user(
        channel, user, filename, content, text=text, filetype=filetype
    )
    url = world.service.url + "/slack/events"
    status, _ = await world.slack.send_event(url, event, event_id=event_id)
    assert status == 200
    await world.drain()
    return event


def bot_dms(world: World, user: str) -> list[dict[str, Any]]:
    return [m for m in world.slack.messages(world.slack.dm_channel(user)) if m["bot_id"]]


def last_dm(world: World, user: str) -> str:
    return str(bot_dms(world, user)[-1]["text"])


def preview_of(world: World, user: str) -> dict[str, Any]:
    """The newest DM with blocks (the preview) for ``user``."""
    return [m for m in bot_dms(world, user) if m["blocks"]][-1]


def words(message: dict[str, Any]) -> str:
    """Every piece of text a Slack user sees in a message's blocks, one per line."""
    found: list[str] = []
    for block in message["blocks"]:
        texts = [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]
        found.extend(str(t.get("text")) for t in texts if isinstance(t.get("text"), str))
    return "\n".join(found)


def figures(message: dict[str, Any]) -> dict[str, int]:
    """The preview's numbers by label: {"Rows": 8, "Importable": 4, ...}."""
    out = {}
    for block in message["blocks"]:
        for item in block.get("fields", []):
            label, value = item["text"].split("\n", 1)
            out[label.strip("*")] = int(re.sub(r"\D", "", value.split(" ")[0]))
    return out


def button(message: dict[str, Any], action_id: str) -> dict[str, Any] | None:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return dict(element)
    return None


async def test_preview_counts_rows_and_names_bad_rows_then_import_imports_once(
    world: World,
) -> None:
    await upload(world, ORGANISER, ROSTER)

    preview = preview_of(world, ORGANISER)
    assert figures(preview) == {
        "Rows": 8,
        "Importable": 4,
        "Rejected": 3,
        "Duplicates merged": 1,
        "Already opted out": 1,
    }
    shown = words(preview)
    assert "a landline cannot receive texts: 2 (rows 4, 8)" in shown
    assert "no phone number: 1 (row 5)" in shown
    assert "rows 2, 6: same phone number and membership number" in shown
    assert "`department`" in shown  # the custom field found
    assert "`{shift}`" in shown and "`{department}`" not in shown  # what no column gives
    importing = button(preview, IMPORT_ACTION)
    assert importing is not None and importing["text"]["text"] == "Import 4 members"
    assert button(preview, CANCEL_ACTION) is not None
    assert await count(world, Member) == 0  # nothing imported before the click
    assert [p.status for p in await rows(world, PendingImport)] == ["pending"]

    await click(world, ORGANISER, IMPORT_ACTION, importing["value"])
    assert await count(world, Member) == 4
    assert "Imported into pay-ballot" in last_dm(world, ORGANISER)
    (pending,) = await rows(world, PendingImport)
    assert (pending.status, pending.content) == ("imported", b"")
    assert pending.report is not None and pending.report["created"] == 4
    (entry,) = await rows(world, AuditEntry, action="import")
    assert (entry.actor, entry.detail["campaign"], entry.detail["rows"]) == (
        ORGANISER,
        "pay-ballot",
        8,
    )

    await click(world, ORGANISER, IMPORT_ACTION, importing["value"])
    assert "already imported" in last_dm(world, ORGANISER)
    assert await count(world, Member) == 4
    assert await count(world, AuditEntry, action="import") == 1


async def test_the_file_is_downloaded_with_the_bot_token_once_per_event(world: World) -> None:
    event = await upload(world, ORGANISER, ROSTER, event_id="EvUPLOAD1")
    url = world.service.url + "/slack/events"
    status, _ = await world.slack.send_event(url, event, event_id="EvUPLOAD1", retry_num=1)
    assert status == 200
    await world.drain()
    assert world.slack.file_downloads == [event["files"][0]["id"]]
    assert await count(world, PendingImport) == 1
    assert len([m for m in bot_dms(world, ORGANISER) if m["blocks"]]) == 1


async def test_cancel_forgets_the_file_and_imports_nothing(world: World) -> None:
    await upload(world, ORGANISER, ROSTER)
    value = str((button(preview_of(world, ORGANISER), CANCEL_ACTION) or {})["value"])

    await click(world, ORGANISER, CANCEL_ACTION, value)
    assert "Cancelled: nothing from members.csv was imported" in last_dm(world, ORGANISER)
    (pending,) = await rows(world, PendingImport)
    assert (pending.status, pending.content) == ("cancelled", b"")

    await click(world, ORGANISER, IMPORT_ACTION, value)
    assert "was cancelled" in last_dm(world, ORGANISER)
    assert await count(world, Member) == 0


async def test_only_organisers_can_upload_or_click(world: World) -> None:
    await upload(world, ALICE, ROSTER)
    assert "Only organisers can import members" in last_dm(world, ALICE)
    assert await count(world, PendingImport) == 0
    assert world.slack.file_downloads == []

    await upload(world, ORGANISER, ROSTER)
    value = str((button(preview_of(world, ORGANISER), IMPORT_ACTION) or {})["value"])
    await click(world, ALICE, IMPORT_ACTION, value)
    assert "Only organisers can import members" in last_dm(world, ALICE)
    assert await count(world, Member) == 0


async def test_a_file_that_is_not_csv_is_refused_without_download(world: World) -> None:
    await upload(world, ORGANISER, b"PK\x03\x04...", filename="members.xlsx", filetype="xlsx")
    told = last_dm(world, ORGANISER)
    assert "I can't import members.xlsx: it is not a CSV file" in told and "CSV UTF-8" in told
    assert world.slack.file_downloads == []
    assert await count(world, PendingImport) == 0


async def test_the_campaign_is_named_in_the_message_or_the_only_active_one(
    world: World,
) -> None:
    await upload(world, ORGANISER, ROSTER, text="here you go campaign:nope")
    assert "no campaign 'nope'" in last_dm(world, ORGANISER)
    await lifecycle.set_state(world.rt.db, "pay-ballot", "paused", NOW)
    await upload(world, ORGANISER, ROSTER)
    assert "no campaign is active" in last_dm(world, ORGANISER)
    await upload(world, ORGANISER, ROSTER, text="campaign:pay-ballot")
    assert figures(preview_of(world, ORGANISER))["Importable"] == 4


async def test_a_file_that_cannot_be_read_is_explained(world: World) -> None:
    await upload(world, ORGANISER, b"name,email\nSam,sam@example.org\n")
    told = last_dm(world, ORGANISER)
    assert "I can't import members.csv" in told and "no phone column" in told
    assert await count(world, PendingImport) == 0


async def send(world: World, event: dict[str, Any]) -> None:
    status, _ = await world.slack.send_event(world.service.url + "/slack/events", event)
    assert status == 200
    await world.drain()


async def test_a_file_too_big_or_gone_is_explained(world: World) -> None:
    channel = world.slack.dm_channel(ORGANISER)
    event = world.slack.share_file_as_user(channel, ORGANISER, "members.csv", ROSTER)
    event["files"][0]["size"] = 25 * 1024 * 1024
    await send(world, event)
    assert "it is 25.0 MB, more than the 20 MB" in last_dm(world, ORGANISER)

    event = world.slack.share_file_as_user(channel, ORGANISER, "members.csv", ROSTER)
    del world.slack.workspace.shared_files[event["files"][0]["id"]]
    await send(world, event)
    assert "file_not_found" in last_dm(world, ORGANISER)
    assert world.slack.file_downloads == []
    assert await count(world, PendingImport) == 0


async def test_a_file_stub_is_looked_up_before_it_is_read(world: World) -> None:
    channel = world.slack.dm_channel(ORGANISER)
    event = world.slack.share_file_as_user(channel, ORGANISER, "members.csv", ROSTER)
    event["files"] = [{"id": event["files"][0]["id"], "file_access": "check_file_info"}]
    await send(world, event)
    assert figures(preview_of(world, ORGANISER))["Importable"] == 4


async def test_the_fake_serves_a_shared_file_only_with_the_bot_token(world: World) -> None:
    channel = world.slack.dm_channel(ORGANISER)
    event = world.slack.share_file_as_user(channel, ORGANISER, "members.csv", ROSTER)
    assert event["subtype"] == "file_share"
    shared = event["files"][0]
    assert shared["id"].startswith("F") and shared["size"] == len(ROSTER)
    stored = world.slack.messages(channel)[-1]
    assert stored["files"][0]["id"] == shared["id"]
    url = shared["url_private_download"]
    async with aiohttp.ClientSession() as http:
        async with http.get(url, allow_redirects=False) as refused:
            assert refused.status == 403 and refused.content_type == "text/html"
        wrong = {"Authorization": "Bearer xoxb-wrong"}
        async with http.get(url, headers=wrong, allow_redirects=False) as refused:
            assert refused.status == 403
        right = {"Authorization": f"Bearer {world.slack.bot_token}"}
        async with http.get(url, headers=right) as served:
            assert served.status == 200 and await served.read() == ROSTER
    info = await world.rt.slack.files_info(file=shared["id"])
    assert info["file"]["url_private_download"] == url
    assert world.slack.file_downloads == [shared["id"]]


async def test_the_national_roster_previews_counts_that_add_up(
    world: World, database_url: str, tmp_path: Path
) -> None:
    shared = shared_dir()
    if shared is None or not database_url.startswith("sqlite"):
        pytest.skip("the 27,000-row upload runs on SQLite, with the shared generator")
    roster = tmp_path / "members.csv"
    command = [sys.executable, str(shared / "data" / "make_members.py"), "-o", str(roster)]
    await asyncio.to_thread(subprocess.run, command, check=True)

    await upload(world, ORGANISER, roster.read_bytes())
    preview = preview_of(world, ORGANISER)
    found = figures(preview)
    assert found["Rows"] == 27000
    assert found["Importable"] + found["Rejected"] + found["Duplicates merged"] == 27000
    importing = button(preview, IMPORT_ACTION)
    assert importing is not None

    await click(world, ORGANISER, IMPORT_ACTION, importing["value"])
    assert await count(world, Member) == found["Importable"]

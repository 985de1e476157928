"""Purging a closed campaign: every name, number and address gone; the figures kept.

The campaign is run as people run it (assign, agree, send, replies, an
outcome with a new address, a STOP, a Claim card), closed, purged, and then
every text, JSON and binary column of every table is searched for what was
personal.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.campaigns import lifecycle
from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.exports.purge import PurgeRefused, purge_campaign
from bot.fakes.world import ADMIN, SUPPORT_CHANNEL, World
from bot.scripts import outcomes
from storage import uploads
from storage.models import AuditEntry, Campaign, Conversation, OptOut, SlackDelivery
from tests.exports.helpers import database_text
from tests.helpers import ALICE, ALICE_USER, campaign_world, click_home, command, rows

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
  Hi {first_name} {last_name}, it's {activist_first_name}, a rep at {branch}.
  Have you posted your ballot yet?
outcomes:
  - {key: voted, label: Voted}
  - {key: replacement, label: Needs replacement ballot, replacement_request: true}
"""
ROSTER = """\
membership_no,first_name,last_name,phone,branch,department
MEMNO-1001,Sam,Jones,07400 100001,Leeds,Egyptology
MEMNO-1002,Priya,Patel,+44 7400 100002,Leeds,Astrophysics
MEMNO-1003,Tom,Evans,447400100003,Leeds,Criminology
MEMNO-1009,Mei,Chen,07400100009,Bath,Ethnomusicology
"""
SAM, PRIYA, TOM, MEI = (f"+4474001000{n:02d}" for n in (1, 2, 3, 9))
ADDRESS = "12 Acacia Avenue, Leeds LS1 4AB"
NAMES = ("Sam", "Jones", "Priya", "Patel", "Tom", "Evans", "Mei", "Chen")
PERSONAL = (
    "MEMNO-10",
    "Egyptology",
    "Astrophysics",
    "Criminology",
    "Ethnomusicology",
    "Acacia Avenue",
    "LS1 4AB",
    "evenings only",
)


def phone_forms(e164: str) -> list[str]:
    """How a UK mobile may be written: +44 7400 100001, 07400 100001, 447400100001..."""
    national = e164.removeprefix("+44")
    return [e164, national, "0" + national, f"0{national[:4]} {national[4:]}"]


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with campaign_world(
        database_url, tmp_path, CAMPAIGN, roster=ROSTER, users=[ALICE_USER]
    ) as w:
        yield w


async def run_the_campaign(world: World) -> dict[str, int]:
    """Texted, answered, an outcome with an address, a STOP, a Claim card; then closed."""
    await command(world, ADMIN, "assign <@U0ALICE|alice> 3 branch:Leeds")
    await click_home(world, ALICE, AGREE_ACTION)
    for _ in range(3):
        await click_home(world, ALICE, SEND_NEXT_ACTION)
    await world.deliver_all()
    ids = {c.phone: c.id for c in await rows(world, Conversation)}
    await world.member_texts(SAM, f"Sam Jones here, I moved to {ADDRESS}")
    await world.member_texts(TOM, "STOP")
    await world.member_texts(MEI, "Hi, Mei Chen here, who is this?")  # unowned: a Claim card
    await world.drain()
    sam = await rows(world, Conversation, id=ids[SAM])
    channel, thread_ts = sam[0].dm_channel, sam[0].thread_ts
    assert channel and thread_ts
    status, _ = await world.activist_writes(
        ALICE, channel, thread_ts, "Thanks Sam, I'll ask for a new ballot paper."
    )
    assert status == 200
    replacement = outcomes.Replacement(False, ADDRESS, "Sam Jones: evenings only")
    await outcomes.record(world.rt, ALICE, ids[SAM], "replacement", replacement=replacement)
    await outcomes.record(world.rt, ALICE, ids[PRIYA], "voted")
    async with world.rt.db.transaction() as session:
        [campaign] = await rows(world, Campaign)
        await uploads.add(
            session,
            user_id=ADMIN,
            campaign_id=campaign.id,
            file_id="F0ROSTER",
            filename="roster.csv",
            content=ROSTER.encode(),
            now=world.now(),
        )
    await world.drain()
    await lifecycle.set_state(world.rt.db, "pay-ballot", "closed", world.now())
    return ids


def leaks(tables: dict[str, str]) -> list[str]:
    needles = [re.escape(p) for e164 in (SAM, PRIYA, TOM, MEI) for p in phone_forms(e164)]
    needles += [rf"\b{name}\b" for name in NAMES] + [re.escape(p) for p in PERSONAL]
    return [
        f"{table}: {needle}"
        for table, text in tables.items()
        for needle in needles
        if re.search(needle, text)
    ]


async def test_purge_leaves_no_name_number_or_address(world: World) -> None:
    await run_the_campaign(world)
    assert leaks(await database_text(world.rt.db)), "the scan must see the data before the purge"

    report = await purge_campaign(
        world.rt.db, "pay-ballot", slack=False, now=world.now(), actor="t"
    )

    assert leaks(await database_text(world.rt.db, skip=("opt_outs",))) == []
    # The global opt-out list is what keeps STOP honoured, so Tom's number stays on it.
    assert [o.phone for o in await rows(world, OptOut)] == [TOM]
    assert (report.erased.members, report.erased.conversations) == (4, 4)
    assert report.record["members"] == 4 and report.record["texts_sent"] == 4
    assert report.record["delivered"] == 3 and report.record["opted_out"] == 1
    assert report.record["outcomes"] == {"replacement": 1, "voted": 1}
    assert report.record["replacement_requests"] == 1
    assert report.record["by_branch"]["Leeds"]["replies"] == 2


async def test_the_record_is_in_the_audit_log_and_a_second_purge_keeps_it(world: World) -> None:
    await run_the_campaign(world)
    first = await purge_campaign(world.rt.db, "pay-ballot", slack=False, now=world.now(), actor="t")
    again = await purge_campaign(world.rt.db, "pay-ballot", slack=False, now=world.now(), actor="t")
    assert again.repeated and again.record == first.record
    entries = [e for e in await rows(world, AuditEntry) if e.action == "purge"]
    assert [e.detail.get("repeated") for e in entries] == [False, True]
    assert entries[0].detail["opted_out"] == 1 and entries[0].detail["campaign"] == "pay-ballot"


async def test_an_active_campaign_is_not_purged(world: World) -> None:
    await command(world, ADMIN, "assign <@U0ALICE|alice> 3 branch:Leeds")
    before = await database_text(world.rt.db)
    with pytest.raises(PurgeRefused, match="only a closed campaign"):
        await purge_campaign(world.rt.db, "pay-ballot", slack=True, now=world.now(), actor="t")
    assert await database_text(world.rt.db) == before
    with pytest.raises(PurgeRefused, match="no campaign 'nope'"):
        await purge_campaign(world.rt.db, "nope", slack=True, now=world.now(), actor="t")


async def test_slack_purge_deletes_what_the_app_posted(world: World) -> None:
    await run_the_campaign(world)
    dm = world.slack.dm_channel(ALICE)

    def app_posts(channel: str) -> list[str]:
        stored = world.slack.messages(channel, include_replies=True)
        return [m["text"] for m in stored if m.get("bot_id")]

    assert any("Sam Jones" in text for text in app_posts(dm))
    assert any("Mei Chen" in text for text in app_posts(SUPPORT_CHANNEL))

    report = await purge_campaign(world.rt.db, "pay-ballot", slack=True, now=world.now(), actor="t")
    # three member cards, one Claim card, one opt-out notice in the support channel
    assert report.slack_threads_queued == 5
    world.rt.wake()
    await world.drain()

    # Only the note of the assignment (no member in it) is left of what the app posted.
    assert [t for t in app_posts(dm) if "gave you 3 members" not in t] == []
    assert app_posts(SUPPORT_CHANNEL) == []
    # A bot token cannot delete what activists typed: their own replies stay.
    left = [m["text"] for m in world.slack.messages(dm, include_replies=True) if not m["bot_id"]]
    assert left == ["Thanks Sam, I'll ask for a new ballot paper."]
    # A second run finds nothing left to delete and does not fail.
    await purge_campaign(world.rt.db, "pay-ballot", slack=True, now=world.now(), actor="t")
    world.rt.wake()
    await world.drain()
    failed = [d for d in await rows(world, SlackDelivery) if d.status == "failed"]
    assert failed == []

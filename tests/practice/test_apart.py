"""Practice stays apart: out of live stats, exports and digests; purges keep to their side.

Alice practises (simulated members: one texts STOP, one needs a replacement
ballot) while Bob texts the two live members. Nothing of Alice's practice
may show in what organisers and coordinators read about the live campaign.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bridge.card_actions import SUGGESTED_OUTCOME_ACTION
from bot.campaigns import lifecycle
from bot.exports.purge import purge_campaign
from bot.fakes.world import ADMIN, SUPPORT_CHANNEL, World
from bot.practice.personas import persona_for
from bot.sweeps import digest
from storage.models import Conversation, Member, ReplacementRequest
from tests.exports.helpers import csv_rows
from tests.helpers import (
    ALICE,
    ALICE_USER,
    BOB,
    BOB_USER,
    T0,
    Clock,
    campaign_world,
    command,
    count,
    rows,
)
from tests.practice.helpers import (
    CAMPAIGN,
    agree_and_send,
    later,
    practice_campaign,
    texts_in_thread,
)
from tests.scripts.helpers import latest_modal, send_replacement_details

LIVE_ROSTER = (
    "first_name,last_name,phone,branch\nSam,Jones,07400100001,Leeds\nZoë,Smith,07400100002,Bath\n"
)
LIVE_NAMES = {"Sam Jones", "Zoë Smith"}


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    clock = Clock(T0)
    async with campaign_world(
        database_url,
        tmp_path,
        CAMPAIGN,
        roster=LIVE_ROSTER,
        users=[ALICE_USER, BOB_USER, (ADMIN, "Ada Organiser", None)],
        clock=clock,
        imported=2,
        simulated_reply_seconds="10-60",
    ) as w:
        await command(w, ADMIN, f"assign <@{BOB}> 2")
        await agree_and_send(w, BOB, 2)
        await w.deliver_all("delivered")
        await command(w, ALICE, "practice")
        await agree_and_send(w, ALICE, 5)
        later(clock, seconds=90)
        await w.simulate()
        await _practice_replacement(w)
        yield w


async def _practice_replacement(world: World) -> None:
    """Alice takes the suggestion on her simulated member who never got a ballot."""
    campaign = await practice_campaign(world)
    members = await rows(world, Member, campaign_id=campaign.id)
    [needs] = [m for m in members if persona_for(m.phone).key == "replacement"]
    [conversation] = await rows(world, Conversation, member_id=needs.id)
    assert conversation.dm_channel and conversation.thread_ts
    [post] = texts_in_thread(world, conversation.dm_channel, conversation.thread_ts)
    [value] = [
        e["value"]
        for b in post["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == SUGGESTED_OUTCOME_ACTION
    ]
    status, _ = await world.click(ALICE, SUGGESTED_OUTCOME_ACTION, value)
    assert status == 200
    await world.drain()
    await send_replacement_details(world, latest_modal(world))
    assert await count(world, ReplacementRequest, campaign_id=campaign.id) == 1


async def test_live_stats_show_only_live_members(world: World) -> None:
    text = await command(world, ADMIN, "stats")
    assert text.startswith("*Pay ballot* (active)")
    assert "*Overall*: 2 members · 2 texts sent · 2 delivered" in text
    assert "0 opted out" in text and "Practice" not in text
    practice = await command(world, ADMIN, "stats campaign:pay-ballot-practice")
    assert practice.startswith(":mortar_board: Practice")
    assert "*Overall*: 5 members · 5 texts sent" in practice and "1 opted out" in practice
    listing = await command(world, ADMIN, "campaign list")
    assert "`pay-ballot` Pay ballot — active" in listing
    assert ":mortar_board: Practice `pay-ballot-practice` (of `pay-ballot`)" in listing


async def test_live_exports_hold_no_practice_rows(world: World) -> None:
    await command(world, ADMIN, "export outcomes")
    assert {r["Member"] for r in csv_rows(world.slack.uploads[-1])} == LIVE_NAMES
    await command(world, ADMIN, "export conversations")
    assert {r["Member"] for r in csv_rows(world.slack.uploads[-1])} == LIVE_NAMES
    # Alice's simulated member asked for a replacement; the live export has none.
    await command(world, ADMIN, "export replacements")
    upload = world.slack.uploads[-1]
    assert upload["filename"].startswith("pay-ballot-replacements-")
    assert csv_rows(upload) == [] and "0 rows" in upload["initial_comment"]
    refused = await command(world, ADMIN, "export replacements campaign:pay-ballot-practice")
    assert "practice copy of pay-ballot" in refused


async def test_the_digest_counts_only_the_live_campaign(world: World) -> None:
    summary = await digest.run(world.rt, T0.replace(hour=18, minute=5))
    await world.drain()
    assert summary == "digest: queued for pay-ballot"
    [post] = [m for m in world.slack.messages(SUPPORT_CHANNEL) if "Daily digest" in m["text"]]
    assert "Daily digest: Pay ballot," in post["text"]
    assert "*Texts:* 2 sent" in post["text"] and "*Opt-outs:* 0" in post["text"]
    assert "*Replacement ballots:* 0 open" in post["text"]
    # Nor did the practice STOP reach the coordinators' channel.
    # (no notices at all: the digest is the channel's only post).
    assert [m["text"] for m in world.slack.messages(SUPPORT_CHANNEL)] == [post["text"]]


async def test_purging_the_live_campaign_leaves_practice_alone(world: World) -> None:
    await lifecycle.set_state(world.rt.db, "pay-ballot", "closed", world.now())
    await purge_campaign(world.rt.db, "pay-ballot", slack=False, now=world.now(), actor="t")
    live = {m.full_name for m in await rows(world, Member) if not m.phone.startswith("+447700")}
    assert not live & LIVE_NAMES
    practice = await practice_campaign(world)
    kept = await rows(world, Member, campaign_id=practice.id)
    assert len(kept) == 5 and all(m.phone.startswith("+447700900") for m in kept)
    assert "Sam Okafor" in {m.full_name for m in kept}


async def test_purging_practice_leaves_the_live_campaign_alone(world: World) -> None:
    await lifecycle.set_state(world.rt.db, "pay-ballot-practice", "closed", world.now())
    await purge_campaign(
        world.rt.db, "pay-ballot-practice", slack=False, now=world.now(), actor="t"
    )
    campaign = await practice_campaign(world)
    assert all(
        m.phone.startswith("purged:") for m in await rows(world, Member, campaign_id=campaign.id)
    )
    live = {m.full_name for m in await rows(world, Member) if m.campaign_id != campaign.id}
    assert live == LIVE_NAMES
    assert "Sam Jones" in {r["Member"] for r in (await _outcomes(world))}


async def _outcomes(world: World) -> list[dict[str, str]]:
    await command(world, ADMIN, "export outcomes")
    return csv_rows(world.slack.uploads[-1])

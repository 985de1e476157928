"""The sweeps, driven at chosen times: nudges, escalation, idle queues, follow-ups, reconcile."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.bridge.support_posts import ESCALATION_CLAIM
from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.fakes.world import ADMIN, SUPPORT_CHANNEL, World
from bot.sweeps.runner import run_sweep
from storage import sweeps as queries
from storage.models import Conversation, Message
from tests.helpers import (
    ACTIVISTS,
    ALICE,
    BOB,
    Clock,
    Turnout,
    campaign_world,
    click,
    command,
    home_button,
    rows,
)

CAMPAIGN = """\
slug: pay-ballot
name: Pay ballot
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: 2021-11-04T12:00:00+00:00
data_protection: Members' data stays with the union.
initial: Hi {first_name}, have you voted?
scripts:
  reminder: Hi {first_name}, a reminder to post your ballot today!
outcomes:
  - {key: voted, label: Voted}
followups:
  - {at: "2021-11-02T10:00:00", unless_outcome: [voted], script: reminder}
"""
ROSTER = (
    "first_name,last_name,phone,branch\n"
    "Sam,Jones,07400100001,Leeds\nPriya,Patel,07400100002,Leeds\nTom,Evans,07400100003,Leeds\n"
)
START = datetime(2021, 11, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with campaign_world(
        database_url, tmp_path, CAMPAIGN, roster=ROSTER, users=ACTIVISTS, clock=Clock(START)
    ) as w:
        await command(w, ADMIN, "assign <@U0ALICE|alice> 3")
        await click(w, ALICE, AGREE_ACTION, str(home_button(w, ALICE, AGREE_ACTION)))
        yield w


def at(world: World, when: datetime) -> datetime:
    clock = world.rt.clock
    assert isinstance(clock, Clock)
    clock.at = when
    return when


async def sweep(world: World, name: str, when: datetime) -> str:
    summary = await run_sweep(world.rt, name, at(world, when))
    assert summary is not None
    await world.drain()
    return summary


async def send_next(world: World, n: int = 1) -> None:
    for _ in range(n):
        await click(
            world, ALICE, SEND_NEXT_ACTION, str(home_button(world, ALICE, SEND_NEXT_ACTION))
        )


def dms(world: World, user: str) -> list[str]:
    return [m["text"] for m in world.slack.messages(world.slack.dm_channel(user))]


async def test_a_waiting_reply_nudges_once_then_escalates_once(world: World) -> None:
    await send_next(world)
    at(world, START + timedelta(minutes=5))
    await world.member_texts("+447400100001", "What do I do with the envelope?")
    await world.drain()

    await sweep(world, "nudges", START + timedelta(minutes=20))
    assert not any("waiting for an answer" in t for t in dms(world, ALICE))
    await sweep(world, "nudges", START + timedelta(minutes=40))
    await sweep(world, "nudges", START + timedelta(minutes=41))
    nudges = [t for t in dms(world, ALICE) if "waiting for an answer" in t]
    assert len(nudges) == 1 and "Sam Jones" in nudges[0] and "open the thread" in nudges[0]

    await sweep(world, "nudges", START + timedelta(hours=4, minutes=10))
    await sweep(world, "nudges", START + timedelta(hours=4, minutes=20))
    cards = [m for m in world.slack.messages(SUPPORT_CHANNEL) if "has waited" in m["text"]]
    assert len(cards) == 1
    blocks = json.dumps(cards[0]["blocks"])
    assert ESCALATION_CLAIM in blocks and "users_select" in blocks
    assert "What do I do with the envelope?" in blocks

    # A coordinator answers under the card: it reaches Alice's thread, not the member.
    reply = world.slack.post_as_user(
        SUPPORT_CHANNEL, "U0COORD", "Tell her to use the envelope", thread_ts=cards[0]["ts"]
    )
    await world.slack.send_event(world.service.url + "/slack/events", reply)
    await world.drain()
    [sam] = [c for c in await rows(world, Conversation) if c.phone == "+447400100001"]
    assert sam.dm_channel and sam.thread_ts
    last = world.slack.thread(sam.dm_channel, sam.thread_ts)[-1]["text"]
    assert "<@U0COORD> answered your question: Tell her to use the envelope" in last
    assert len(world.twilio.sent_to("+447400100001")) == 1

    # A coordinator's colleague claims it from the card.
    [campaign_id] = {c.campaign_id for c in await rows(world, Conversation)}
    await click(world, BOB, AGREE_ACTION, str(campaign_id))
    [sam] = [c for c in await rows(world, Conversation) if c.phone == "+447400100001"]
    await world.click(
        BOB, ESCALATION_CLAIM, str(sam.id), channel_id=SUPPORT_CHANNEL, message_ts=cards[0]["ts"]
    )
    await world.drain()
    [sam] = [c for c in await rows(world, Conversation) if c.phone == "+447400100001"]
    assert sam.owner_id == BOB and sam.dm_channel == world.slack.dm_channel(BOB)


async def test_no_nudges_outside_texting_hours(world: World) -> None:
    await send_next(world)
    at(world, datetime(2021, 11, 1, 20, 50, tzinfo=UTC))
    await world.member_texts("+447400100001", "Late question")
    await world.drain()
    await sweep(world, "nudges", datetime(2021, 11, 1, 22, 0, tzinfo=UTC))
    assert not any("waiting for an answer" in t for t in dms(world, ALICE))
    await sweep(world, "nudges", datetime(2021, 11, 2, 9, 5, tzinfo=UTC))
    assert world.slack.messages(SUPPORT_CHANNEL) != []  # long past the 4 h: escalated at once


async def test_an_idle_queue_is_nudged_once_a_day(world: World) -> None:
    await sweep(world, "nudges", START + timedelta(hours=2))
    assert not any("still have" in t for t in dms(world, ALICE))
    await sweep(world, "nudges", START + timedelta(hours=25))
    await sweep(world, "nudges", START + timedelta(hours=26))
    assert sum("still have 3 members" in t for t in dms(world, ALICE)) == 1
    await sweep(world, "nudges", START + timedelta(hours=49))
    assert sum("still have 3 members" in t for t in dms(world, ALICE)) == 2


async def test_a_followup_round_queues_the_right_members_once(world: World) -> None:
    await send_next(world, 3)
    [sam] = [c for c in await rows(world, Conversation) if c.phone == "+447400100001"]
    await click(world, ALICE, "outcome_voted", str(sam.id))
    assert "0 members" in await sweep(world, "followups", datetime(2021, 11, 2, 9, 0, tzinfo=UTC))
    summary = await sweep(world, "followups", datetime(2021, 11, 2, 10, 1, tzinfo=UTC))
    assert "ran 1 follow-up rounds, queueing 2 members" == summary
    assert "ran 0" in await sweep(world, "followups", datetime(2021, 11, 2, 10, 2, tzinfo=UTC))
    assert any("follow-up round" in t for t in dms(world, ALICE))
    home = json.dumps(world.slack.home_view(ALICE))
    assert "Follow-ups to send*\\n2" in home and "Left to text*\\n0" in home
    await send_next(world, 2)
    assert home_button(world, ALICE, SEND_NEXT_ACTION) is None
    reminders = [m for m in world.twilio.messages if "reminder" in m["body"]]
    assert sorted(m["to"] for m in reminders) == ["+447400100002", "+447400100003"]
    assert reminders[0]["body"].startswith("Hi Priya, a reminder")


async def test_reconcile_repairs_an_unknown_send_and_a_lost_callback(world: World) -> None:
    world.twilio.swallow_response(times=1)
    status, _ = await world.click(
        ALICE, SEND_NEXT_ACTION, str(home_button(world, ALICE, SEND_NEXT_ACTION))
    )
    assert status == 200
    await world.service.sms_outbox.run_round()  # the answer is lost: fate unknown
    [lost] = await rows(world, Message, direction="out")
    assert lost.status == "unknown" and lost.twilio_sid is None
    summary = await sweep(world, "reconcile", START + timedelta(minutes=5))
    assert "settled 1 texts of unknown fate" in summary
    [first] = await rows(world, Message, direction="out")
    assert first.twilio_sid == world.twilio.messages[0]["sid"]
    assert len(world.twilio.messages) == 1  # looked up, not resent

    await send_next(world)
    # Twilio delivered the second text, but its status callback never arrived.
    world.twilio.messages[1]["status"] = "delivered"
    assert "caught up 0" in await sweep(world, "reconcile", START + timedelta(minutes=6))
    assert "caught up 1" in await sweep(world, "reconcile", START + timedelta(minutes=30))
    second = max(await rows(world, Message, direction="out"), key=lambda m: m.id)
    assert second.status == "delivered"
    assert "caught up 0" in await sweep(world, "reconcile", START + timedelta(minutes=31))


async def test_a_sweep_runs_in_one_instance_at_a_time(world: World) -> None:
    now = START
    async with world.rt.db.transaction() as session:
        assert await queries.take_lease(session, "nudges", "one", now, timedelta(minutes=10))
    async with world.rt.db.transaction() as session:
        assert not await queries.take_lease(session, "nudges", "two", now, timedelta(minutes=10))
    assert await run_sweep(world.rt, "nudges", now, holder="two") is None
    later = now + timedelta(minutes=11)
    at(world, later)
    async with world.rt.db.transaction() as session:
        assert await queries.take_lease(session, "nudges", "two", later, timedelta(minutes=10))


def test_the_sweep_command_runs_at_a_given_time(turnout: Turnout) -> None:
    sandbox = {"SMS_BACKEND": "sandbox"}
    migrated = turnout("migrate", env=sandbox)
    assert migrated.returncode == 0, migrated.stderr
    done = turnout("sweep", "followups", "--now", "2021-11-02T10:01:00Z", env=sandbox)
    assert done.returncode == 0, done.stderr
    assert "ran 0 follow-up rounds" in done.stdout
    bad = turnout("sweep", "nudges", "--now", "yesterday", env=sandbox)
    assert bad.returncode == 2 and "ISO-8601" in bad.stderr


async def test_serve_schedules_every_sweep(database_url: str) -> None:
    from bot.app import WorkerOptions

    w = await World.start(database_url, options=WorkerOptions(run_workers=True, poll_interval=0.05))
    try:
        assert w.service.scheduler is not None and w.service.scheduler.running
        jobs = {job.id for job in w.service.scheduler.get_jobs()}
        assert jobs == {"nudges", "followups", "digest", "reconcile"}
    finally:
        await w.stop()

"""`/turnout practice`: a batch of simulated members in a practice copy of the campaign.

On either backend a practice text goes to the simulator, never to Twilio;
the data-protection gate applies; every card, post and Home section says
practice; `/turnout practice end` clears the batch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.fakes.world import World
from bot.phones import is_simulated
from bot.practice.personas import CORE, persona_for
from storage.models import Agreement, Conversation, Member, Message, OptOut, SimulatedEvent
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
    home_button,
    rows,
)
from tests.practice.helpers import (
    CAMPAIGN,
    agree_and_send,
    inbound_bodies,
    later,
    post_text,
    practice_campaign,
    texts_in_thread,
)

EVENING = T0.replace(hour=22)  # after the campaign's texting hours


@pytest.fixture
def clock() -> Clock:
    return Clock(EVENING)


@pytest.fixture(params=["twilio", "sandbox"])
async def world(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[World]:
    async with campaign_world(
        database_url,
        tmp_path,
        CAMPAIGN,
        users=[ALICE_USER, BOB_USER],
        clock=clock,
        sms_backend=request.param,
        simulated_reply_seconds="10-60",
    ) as w:
        yield w


async def test_a_practice_batch_is_texted_and_answered_without_twilio(
    world: World, clock: Clock
) -> None:
    reply = await command(world, ALICE, "practice")
    assert "5 simulated members are ready" in reply and "Practice: Pay ballot" in reply
    campaign = await practice_campaign(world)
    assert (campaign.slug, campaign.practice_of, campaign.state) == (
        "pay-ballot-practice",
        "pay-ballot",
        "active",
    )
    members = sorted(await rows(world, Member, campaign_id=campaign.id), key=lambda m: m.id)
    assert len(members) == 5 and all(is_simulated(m.phone) for m in members)
    parts = [persona_for(m.phone).key for m in members]
    assert parts[:4] == list(CORE) and len(set(parts)) == 5

    # The gate applies: terms first, on Home, marked practice.
    home = post_text(world.slack.home_view(ALICE) or {})
    assert "Practice" in home and "Before you start: Practice: Pay ballot" in home
    assert home_button(world, ALICE, SEND_NEXT_ACTION) is None
    await agree_and_send(world, ALICE, 5)  # at 22:00: practice texts at any hour

    later(clock, seconds=90)
    await world.simulate()
    assert world.twilio.requests == [] and world.twilio.messages == []
    assert await count(world, SimulatedEvent, kind="text") == 5
    bodies = await inbound_bodies(world)
    assert {"Sam", "Priya", "Gareth", "Cerys"} <= set(bodies)

    # Marked practice on the card and each member's post in the thread.
    [sam] = [c for c in await rows(world, Conversation) if c.member_id == members[0].id]
    assert sam.dm_channel and sam.thread_ts
    card = world.slack.thread(sam.dm_channel, sam.thread_ts)[0]
    assert "Practice" in card["text"] and "simulated member" in post_text(card)
    [post] = texts_in_thread(world, sam.dm_channel, sam.thread_ts)
    assert ":mortar_board: Practice" in post_text(post)
    home = post_text(world.slack.home_view(ALICE) or {})
    assert "Practice · *Practice: Pay ballot*" in home and "/turnout practice end" in home


def _id(row: SimulatedEvent) -> int:
    return row.id


async def test_activists_replies_in_practice_threads_reach_only_the_simulator(
    world: World, clock: Clock
) -> None:
    await command(world, ALICE, "practice 1")
    await agree_and_send(world, ALICE, 1)
    later(clock, seconds=90)
    await world.simulate()
    [conversation] = await rows(world, Conversation, owner_id=ALICE)
    assert conversation.dm_channel and conversation.thread_ts
    await world.activist_writes(ALICE, conversation.dm_channel, conversation.thread_ts, "Great!")
    await world.drain()
    texts = [e.body for e in sorted(await rows(world, SimulatedEvent, kind="text"), key=_id)]
    assert texts[-1] == "Great!" and len(texts) == 2
    assert world.twilio.requests == []


async def test_practice_end_clears_the_batch_and_its_simulated_opt_outs(
    world: World, clock: Clock
) -> None:
    await command(world, ALICE, "practice 5")
    await agree_and_send(world, ALICE, 5)
    await command(world, BOB, "practice 2")
    later(clock, seconds=90)
    await world.simulate()
    stopped = [m.phone for m in await rows(world, Member) if persona_for(m.phone).key == "stop"]
    assert stopped and await count(world, OptOut, phone=stopped[0]) == 1

    reply = await command(world, ALICE, "practice end")
    assert "cleared: 5 simulated members (5 texted)" in reply
    assert await count(world, Conversation, owner_id=ALICE) == 0
    assert await count(world, Message) == 0 and await count(world, OptOut) == 0
    assert await count(world, Agreement, user_id=ALICE) == 0, "the next batch asks again"
    assert await count(world, Conversation, owner_id=BOB) == 2, "Bob's batch is his own"
    assert "no practice batch" in await command(world, ALICE, "practice end")

    # A new batch asks for the terms again and reuses the freed numbers.
    assert "5 simulated members are ready" in await command(world, ALICE, "practice")
    assert home_button(world, ALICE, AGREE_ACTION) is not None


async def test_one_batch_at_a_time_and_help_for_what_it_cannot_read(world: World) -> None:
    await command(world, ALICE, "practice 3")
    again = await command(world, ALICE, "practice")
    assert "already have a batch of 3 simulated members (3 still to text)" in again
    for typo in ("practice 0", "practice 50"):
        assert "a practice batch is 1 to 20 members" in (await command(world, BOB, typo)).lower()
    assert "Usage: /turnout practice [N]" in await command(world, BOB, "practice stop")
    assert "practice" in await command(world, BOB, "help")


async def test_practice_campaign_takes_no_roster_batches_or_file(
    world: World, tmp_path: Path
) -> None:
    await command(world, ALICE, "practice 1")
    refused = await command(world, "U0ADMIN", f"assign <@{BOB}> 1 campaign:pay-ballot-practice")
    assert "practice copy of pay-ballot" in refused
    from bot.campaigns import lifecycle
    from bot.roster import members

    with pytest.raises(members.RosterError, match="practice campaign"):
        await members.import_roster(
            world.rt.db,
            "pay-ballot-practice",
            "first_name,phone\nX,07400100001\n",
            region="GB",
            now=world.now(),
        )
    path = tmp_path / "clash.yml"
    path.write_text(CAMPAIGN.replace("slug: pay-ballot", "slug: pay-ballot-practice"))
    with pytest.raises(lifecycle.CampaignError, match="practice copy"):
        await lifecycle.load_campaign(world.rt.db, path, world.now())

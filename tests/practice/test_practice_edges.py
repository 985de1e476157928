"""Practice under pressure: trainees starting at once, two simulators, a batch ended
mid-conversation, a purged practice copy, and the buttons that would move a member."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import WorkerOptions
from bot.bridge.card_actions import RELEASE_ACTION
from bot.campaigns import lifecycle
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.exports.purge import purge_campaign
from bot.fakes.world import ADMIN, FAST, SUPPORT_CHANNEL, World
from bot.practice import batch
from bot.practice.personas import CORE, persona_for
from bot.practice.simulator import Simulator
from bot.runtime import utcnow
from bot.sweeps import nudges
from storage.models import Campaign, Conversation, Member, Message, SimulatedEvent
from tests.helpers import (
    ALICE,
    ALICE_USER,
    BOB,
    BOB_USER,
    T0,
    Clock,
    campaign_world,
    click,
    command,
    count,
    home_button,
    rows,
)
from tests.practice.helpers import CAMPAIGN, agree_and_send, later

TRAINEES = [f"U0T{n:03d}" for n in range(6)]


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def world(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[World]:
    users = [ALICE_USER, BOB_USER, *((t, f"Trainee {t}", None) for t in TRAINEES)]
    async with campaign_world(
        database_url,
        tmp_path,
        CAMPAIGN,
        roster="first_name,phone\nSam,07400100001\n",
        users=users,
        clock=clock,
        simulated_reply_seconds="10-60",
    ) as w:
        yield w


async def test_trainees_starting_at_once_get_their_own_numbers(world: World) -> None:
    starts = [batch.start(world.rt, t, 5, None) for t in TRAINEES]
    starts.append(batch.start(world.rt, TRAINEES[0], 5, None))  # a double-sent command
    answers = await asyncio.gather(*starts)
    assert sum("are ready" in a for a in answers) == len(TRAINEES)
    assert sum("already have a batch" in a for a in answers) == 1
    members = await rows(world, Member)
    practice = [m for m in members if m.phone.startswith("+447700900")]
    assert len(practice) == 5 * len(TRAINEES)
    assert len({m.phone for m in practice}) == len(practice), "no number is shared"
    assert await count(world, Campaign, practice=True) == 1
    # The fifth part rotates, so six trainees meet six different ones.
    by_owner: dict[str, list[str]] = {}
    for c in await rows(world, Conversation):
        if c.owner_id in TRAINEES:
            by_owner.setdefault(c.owner_id, []).append(c.phone)
    fifth = set()
    for phones in by_owner.values():
        parts = [persona_for(p).key for p in phones]
        assert set(CORE) <= set(parts)
        fifth |= set(parts) - set(CORE)
    assert len(fifth) == 5, "all five other parts, among six trainees"


async def test_two_simulators_play_each_reply_once(world: World, clock: Clock) -> None:
    await command(world, ALICE, "practice 5")
    await agree_and_send(world, ALICE, 5)
    later(clock, seconds=90)
    other = Simulator(world.rt)
    played = await asyncio.gather(world.service.simulator.run_due(), other.run_due())
    await world.simulate()
    replies = await count(world, SimulatedEvent, kind="reply")
    assert await count(world, Message, direction="in") == replies
    assert sum(played) == await count(world, SimulatedEvent, kind="status") + replies


async def test_a_reply_after_practice_end_opens_nothing(world: World, clock: Clock) -> None:
    await command(world, ALICE, "practice 5")
    await agree_and_send(world, ALICE, 5)
    pending = await count(world, SimulatedEvent, kind="reply")
    assert pending >= 4
    await command(world, ALICE, "practice end")
    later(clock, seconds=90)
    await world.simulate()
    assert await count(world, Conversation) == 0 and await count(world, Message) == 0
    assert world.slack.messages(SUPPORT_CHANNEL) == [], "no Claim card for a simulated number"


async def test_a_purged_practice_copy_is_replaced_and_its_batch_still_ends(
    world: World,
) -> None:
    await command(world, ALICE, "practice 2")
    await lifecycle.set_state(world.rt.db, "pay-ballot-practice", "closed", world.now())
    await purge_campaign(
        world.rt.db, "pay-ballot-practice", slack=False, now=world.now(), actor="t"
    )
    assert "cleared: 2 simulated members" in await command(world, ALICE, "practice end")
    assert "are ready" in await command(world, BOB, "practice 1")
    slugs = {c.slug: c.state for c in await rows(world, Campaign, practice=True)}
    assert slugs == {"pay-ballot-practice": "closed", "pay-ballot-practice-2": "active"}


async def test_practice_members_stay_with_their_trainee(world: World, clock: Clock) -> None:
    await command(world, ALICE, "practice 1")
    await agree_and_send(world, ALICE, 1)
    later(clock, seconds=90)
    await world.simulate()
    [conversation] = await rows(world, Conversation, owner_id=ALICE)
    await click(world, ALICE, RELEASE_ACTION, str(conversation.id))
    [still] = await rows(world, Conversation, id=conversation.id)
    assert still.owner_id == ALICE
    assert conversation.dm_channel and conversation.thread_ts
    notes = world.slack.thread(conversation.dm_channel, conversation.thread_ts)
    assert "A practice member stays with you" in notes[-1]["text"]
    # Unanswered for hours: nudged in the DM, never escalated to the coordinators.
    await nudges.run(world.rt, clock.at + timedelta(minutes=40))
    await nudges.run(world.rt, clock.at + timedelta(hours=5))
    await world.drain()
    dm = world.slack.messages(world.slack.dm_channel(ALICE))
    [nudge] = [m for m in dm if "waiting for an answer" in m["text"]]
    assert ":mortar_board: Practice" in nudge["text"]
    assert world.slack.messages(SUPPORT_CHANNEL) == []
    assert (
        await command(world, ADMIN, f"unassign <@{ALICE}> all")
        == "Took 0 members back from <@U0ALICE>."
    )


async def test_turnout_next_never_mixes_practice_and_live(world: World) -> None:
    await command(world, ADMIN, f"assign <@{ALICE}> 1")
    await command(world, ALICE, "practice 1")
    while (agree := home_button(world, ALICE, "data_protection_agree")) is not None:
        await click(world, ALICE, "data_protection_agree", agree)
    live = await command(world, ALICE, "next")
    assert live.startswith("Texting Sam")
    practice = await command(world, ALICE, "practice next")
    assert practice.startswith(":mortar_board: Practice: texting") and "simulated" in practice
    empty = await command(world, ALICE, "next")
    assert "Your queue is empty" in empty and "practice next" not in empty
    assert "everyone in your practice batch" in await command(world, ALICE, "practice next")
    assert home_button(world, ALICE, SEND_NEXT_ACTION) is None
    assert len(world.twilio.messages) == 1, "only Sam's text went to Twilio"
    assert world.twilio.messages[0]["to"] == "+447400100001"


async def test_a_service_runs_the_simulator_by_itself(database_url: str, tmp_path: Path) -> None:
    """With its workers on (as `turnout serve`), replies arrive with nothing driving them."""
    options = WorkerOptions(**{**FAST.__dict__, "run_workers": True})
    async with campaign_world(
        database_url,
        tmp_path,
        CAMPAIGN,
        users=[ALICE_USER],
        clock=utcnow,
        options=options,
        simulated_reply_seconds="0",
    ) as world:
        url = world.service.url + "/slack/events"
        await world.slack.send_command(url, user_id=ALICE, text="practice 1")
        for action in ("data_protection_agree", SEND_NEXT_ACTION):
            value = await _eventually(lambda a=action: home_button(world, ALICE, a))
            status, _ = await world.click(ALICE, action, value)
            assert status == 200

        async def replied() -> int:
            return await count(world, Message, direction="in")

        for _ in range(200):
            if await replied():
                break
            await asyncio.sleep(0.05)
        assert await replied() == 1 and world.twilio.requests == []


async def _eventually(look: Callable[[], str | None]) -> str:
    for _ in range(200):
        found = look()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("Home never showed the button")

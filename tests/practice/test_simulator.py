"""SMS_BACKEND=sandbox: texts go to simulated members, who answer like members do.

Their replies and delivery reports come in through the inbound path a real
SMS takes (`receive_sms`, `record_status`), so what activists see in Slack
is what a live campaign shows, and no request ever reaches Twilio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bridge.sms_gateway import SmsRejected
from bot.fakes.world import World
from bot.practice.personas import mobile_playing
from storage.models import Conversation, Message, OptOut, SimulatedEvent
from tests.helpers import ALICE, ALICE_USER, T0, Clock, campaign_world, command, count, rows
from tests.practice.helpers import (
    CAMPAIGN,
    PARTS,
    ROSTER,
    agree_and_send,
    inbound_bodies,
    later,
    post_text,
    texts_in_thread,
)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def world(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[World]:
    async with campaign_world(
        database_url,
        tmp_path,
        CAMPAIGN,
        roster=ROSTER,
        users=[ALICE_USER],
        clock=clock,
        imported=len(PARTS),
        sms_backend="sandbox",
        simulated_reply_seconds="30-90",
    ) as w:
        await command(w, "U0ADMIN", f"assign <@{ALICE}> {len(PARTS)}")
        yield w


async def test_texts_reach_simulated_phones_and_never_twilio(world: World, clock: Clock) -> None:
    await agree_and_send(world, ALICE, len(PARTS))
    texts = await rows(world, SimulatedEvent, kind="text")
    assert sorted(t.phone for t in texts) == sorted(mobile_playing(p) for p in PARTS)
    assert all(t.body.startswith("Hi ") and "it's Alice" in t.body for t in texts)
    assert world.twilio.requests == [] and world.twilio.messages == []
    sent = await rows(world, Message, direction="out")
    assert {m.status for m in sent} == {"queued"} and all(
        m.twilio_sid and m.twilio_sid.startswith("SMsim") for m in sent
    )

    later(clock, seconds=2)
    await world.simulate()
    states = {m.conversation_id: m.status for m in await rows(world, Message, direction="out")}
    unreachable = await rows(world, Conversation, phone=mobile_playing("unreachable"))
    assert states.pop(unreachable[0].id) == "undelivered"
    assert set(states.values()) == {"delivered"}
    [failed] = await rows(world, Message, status="undelivered")
    assert failed.error_code == 30003


async def test_members_answer_after_a_human_delay_through_the_inbound_path(
    world: World, clock: Clock
) -> None:
    await agree_and_send(world, ALICE, len(PARTS))
    later(clock, seconds=20)
    await world.simulate()
    assert await count(world, Message, direction="in") == 0, "nobody answers within 30 s"

    later(clock, seconds=100)
    await world.simulate()
    bodies = await inbound_bodies(world)
    # Everyone but the silent phone answers; the phone that is off never got the text.
    assert set(bodies) == {"Priya", "Tom", "Dan", "Rhys", "Kim"}
    assert bodies["Dan"] == ["STOP"]
    assert "ballot" in bodies["Tom"][0].lower()
    assert "wrong number" in bodies["Kim"][0].lower()
    assert any(w in bodies["Rhys"][0] for w in ("pleidleisio", "postio"))
    inbound = await rows(world, Message, direction="in")
    assert all(m.twilio_sid and m.twilio_sid.startswith("SMsim") for m in inbound)

    # As for a real reply: posted into the owner's thread, with a suggestion.
    [priya] = [c for c in await rows(world, Conversation) if c.phone == mobile_playing("voted")]
    assert priya.dm_channel and priya.thread_ts
    [post] = texts_in_thread(world, priya.dm_channel, priya.thread_ts)
    assert bodies["Priya"][0] in post_text(post)
    assert "Looks like: *Voted*" in post_text(post)
    assert world.twilio.requests == []


async def test_stop_opts_out_and_the_phone_refuses_further_texts(
    world: World, clock: Clock
) -> None:
    await agree_and_send(world, ALICE, len(PARTS))
    later(clock, seconds=120)
    await world.simulate()
    dan = mobile_playing("stop")
    [opt_out] = await rows(world, OptOut, phone=dan)
    assert opt_out.source == "keyword"
    [conversation] = await rows(world, Conversation, phone=dan)
    assert conversation.dm_channel and conversation.thread_ts
    card = world.slack.thread(conversation.dm_channel, conversation.thread_ts)[0]
    assert "Opted out" in post_text(card)

    # As Twilio answers once a number has texted STOP: 21610.
    with pytest.raises(SmsRejected) as refused:
        await world.rt.sms.send(to=dan, body="one more?", status_callback=None)
    assert refused.value.code == 21610


async def test_second_turns_answer_the_activists_next_text(world: World, clock: Clock) -> None:
    await agree_and_send(world, ALICE, len(PARTS))
    later(clock, seconds=120)
    await world.simulate()
    [tom] = await rows(world, Conversation, phone=mobile_playing("replacement"))
    assert tom.dm_channel and tom.thread_ts
    await world.activist_writes(
        ALICE, tom.dm_channel, tom.thread_ts, "I'll request one. Same address?"
    )
    await world.drain()
    later(clock, seconds=120)
    await world.simulate()
    replies = (await inbound_bodies(world))["Tom"]
    assert len(replies) == 2 and "address" in replies[1]


async def test_pending_replies_survive_a_restart(world: World, clock: Clock) -> None:
    await agree_and_send(world, ALICE, 1)
    await world.restart()
    later(clock, seconds=120)
    await world.simulate()
    assert await count(world, Message, direction="in") == 1
    # Played once: a second pass (or a second instance) adds nothing.
    assert await world.service.simulator.run_due() == 0
    assert await count(world, Message, direction="in") == 1

"""Crashes and restarts: nothing acknowledged is lost, nothing is done twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.fakes.world import World
from storage.models import Message, SlackDelivery
from tests.helpers import ALICE, SAM_PHONE, owned_conversation, rows, started_thread, thread_for


def _creates(world: World) -> list[dict[str, object]]:
    return [r for r in world.twilio.requests if r["method"] == "POST"]


async def test_restart_between_ack_and_delivery_loses_and_duplicates_nothing(
    world: World,
) -> None:
    dm, thread_ts = await started_thread(world)
    for text in ("First reply", "Second reply"):
        status, _ = await world.activist_writes(ALICE, dm, thread_ts, text)
        assert status == 200
    status, _ = await world.member_texts(SAM_PHONE, "Got it, thanks")
    assert status == 200
    # Acknowledged, not yet delivered: now the process dies.
    await world.restart()
    await world.drain()
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == ["First reply", "Second reply"]
    texts = [world.slack.rendered_text(m) for m in world.slack.thread(dm, thread_ts)]
    assert sum("Got it, thanks" in t for t in texts) == 1

    # A second restart with nothing pending does nothing more.
    await world.restart()
    await world.drain()
    assert len(_creates(world)) == 2
    texts = [world.slack.rendered_text(m) for m in world.slack.thread(dm, thread_ts)]
    assert sum("Got it, thanks" in t for t in texts) == 1


async def test_a_send_whose_answer_was_lost_is_looked_up_not_resent(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    world.twilio.swallow_response(times=1)
    await world.activist_writes(ALICE, dm, thread_ts, "Is your address still the same?")
    await world.drain()
    # Twilio did create it; Turnout never heard back, checked, and adopted it.
    [created] = world.twilio.messages
    assert len(_creates(world)) == 1
    [message] = await rows(world, Message, direction="out")
    assert message.twilio_sid == created["sid"]
    assert message.status in ("queued", "accepted", "sent")
    # And it is tracked from then on like any other text.
    await world.twilio.deliver(created["sid"], "delivered")
    await world.drain()
    [message] = await rows(world, Message, direction="out")
    assert message.status == "delivered"


async def test_a_crash_before_the_request_left_sends_once_after_checking(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    await world.activist_writes(ALICE, dm, thread_ts, "Did your ballot arrive?")
    # The worker claimed the text and died before its request reached Twilio.
    long_ago = world.now() - timedelta(minutes=10)
    async with world.rt.db.transaction() as session:
        await session.execute(
            update(Message)
            .where(Message.direction == "out")
            .values(status="submitting", claimed_at=long_ago, attempts=1)
        )
    await world.restart()
    await world.drain()
    # A lookup at Twilio found nothing, so it was sent, once.
    lookups = [r for r in world.twilio.requests if r["method"] == "GET"]
    assert lookups, "the text was resent without asking Twilio first"
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == ["Did your ballot arrive?"]


async def test_a_slack_post_whose_worker_died_is_found_not_reposted(world: World) -> None:
    conversation_id = await owned_conversation(world)
    await world.member_texts(SAM_PHONE, "Only once, please")
    await world.drain()
    dm, thread_ts = await thread_for(world, conversation_id)
    assert len(world.slack.thread(dm, thread_ts)) == 2
    # As if the worker posted the reply and died before recording it.
    long_ago = world.now() - timedelta(minutes=10)
    async with world.rt.db.transaction() as session:
        await session.execute(
            update(SlackDelivery)
            .where(SlackDelivery.kind == "inbound")
            .values(status="sending", claimed_at=long_ago, done_at=None)
        )
    await world.restart()
    await world.drain()
    thread = world.slack.thread(dm, thread_ts)
    assert sum("Only once, please" in world.slack.rendered_text(m) for m in thread) == 1
    assert world.slack.calls_to("conversations.replies"), "it did not look before posting"

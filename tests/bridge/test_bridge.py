"""The bridge end to end: member's phone <-> activist's Slack thread.

Everything goes through the real slack_sdk and twilio clients, signed HTTP
requests and the local fakes; assertions are on what the fakes received.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import timedelta

import pytest

from bot.bridge.blocks import CLAIM_ACTION
from bot.fakes.world import PUBLIC_BASE_URL, SUPPORT_CHANNEL, World
from storage.models import Conversation, Message
from tests.helpers import (
    ALICE,
    BOB,
    SAM_PHONE,
    add_member,
    count,
    owned_conversation,
    rows,
    started_thread,
    thread_for,
)


async def test_inbound_reply_lands_in_the_owners_thread_and_notifies_them(world: World) -> None:
    conversation_id = await owned_conversation(world)
    status, body = await world.member_texts(SAM_PHONE, "Yes, posted it yesterday!")
    assert status == 200
    assert body.strip().endswith("<Response></Response>")
    # Persist, then acknowledge: it is stored before anything reaches Slack.
    assert await count(world, Message, direction="in") == 1
    assert world.slack.calls_to("chat.postMessage") == []

    await world.drain()
    dm, thread_ts = await thread_for(world, conversation_id)
    parent, reply = world.slack.thread(dm, thread_ts)
    assert "Sam Jones" in parent["text"]
    card_text = str(parent["blocks"])
    assert "Leeds" in card_text and "••• ••• 456" in card_text and SAM_PHONE not in card_text
    assert reply["text"].startswith(f"<@{ALICE}>")  # the mention is what notifies the owner
    assert "Yes, posted it yesterday!" in world.slack.rendered_text(reply)


async def test_unowned_reply_goes_to_support_with_a_claim_button(world: World) -> None:
    await add_member(world)
    await world.member_texts(SAM_PHONE, "Who is this?")
    await world.drain()
    [card] = world.slack.messages(SUPPORT_CHANNEL)
    buttons = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [CLAIM_ACTION]
    assert "Who is this?" in str(card["blocks"])

    # A second text while still unclaimed goes under the same card, not a new one.
    await world.member_texts(SAM_PHONE, "Hello??")
    await world.drain()
    assert len(world.slack.messages(SUPPORT_CHANNEL)) == 1
    assert "Hello??" in str(world.slack.thread(SUPPORT_CHANNEL, card["ts"])[-1]["blocks"])


async def test_unknown_number_is_shown_masked_to_the_support_channel(world: World) -> None:
    await world.member_texts("+447400999888", "Is this the union?")
    await world.drain()
    [card] = world.slack.messages(SUPPORT_CHANNEL)
    assert "Unknown number ••• ••• 888" in card["text"]
    assert "+447400999888" not in str(card)


async def test_two_claims_at_once_make_one_owner(world: World) -> None:
    await add_member(world)
    await world.member_texts(SAM_PHONE, "I need a new ballot paper")
    await world.drain()
    [card] = world.slack.messages(SUPPORT_CHANNEL)
    value = next(
        e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    results = await asyncio.gather(
        world.click(ALICE, CLAIM_ACTION, value, channel_id=SUPPORT_CHANNEL, message_ts=card["ts"]),
        world.click(BOB, CLAIM_ACTION, value, channel_id=SUPPORT_CHANNEL, message_ts=card["ts"]),
    )
    assert [status for status, _ in results] == [200, 200]
    await world.drain()

    [conversation] = await rows(world, Conversation)
    winner = conversation.owner_id
    loser = BOB if winner == ALICE else ALICE
    assert winner in (ALICE, BOB)
    # The card says who claimed it, and offers no second claim.
    updated = world.slack.messages(SUPPORT_CHANNEL)[0]
    assert f"claimed by <@{winner}>" in updated["text"]
    assert "actions" not in [b["type"] for b in updated["blocks"]]
    assert any("already claimed" in e["text"] for e in world.slack.ephemerals(loser))
    # The thread opened in the winner's DM only, with the history so far.
    dm, thread_ts = await thread_for(world, conversation.id)
    assert dm == world.slack.dm_channel(winner)
    assert world.slack.messages(world.slack.dm_channel(loser)) == []
    history = world.slack.thread(dm, thread_ts)[-1]
    assert "I need a new ballot paper" in world.slack.rendered_text(history)

    # From now on the member's texts go to the winner's thread.
    await world.member_texts(SAM_PHONE, "Thanks!")
    await world.drain()
    assert "Thanks!" in world.slack.rendered_text(world.slack.thread(dm, thread_ts)[-1])


async def test_thread_reply_becomes_exactly_one_sms_in_plain_text(world: World) -> None:
    world.slack.add_user(BOB, "Bob Builder", display_name="Bob")
    dm, thread_ts = await started_thread(world)
    status, _ = await world.activist_writes(
        ALICE,
        dm,
        thread_ts,
        "Vote at <https://union.example.org/vote|our site> &amp; tell <@U0BOB> *today*",
    )
    assert status == 200
    # Committed before the ack: the row exists although no worker has run.
    [queued] = await rows(world, Message, direction="out")
    assert queued.status == "pending"
    await world.drain()
    [sms] = world.twilio.sent_to(SAM_PHONE)
    assert sms["body"] == "Vote at https://union.example.org/vote & tell Bob today"
    assert sms["status_callback"] == f"{PUBLIC_BASE_URL}/twilio/status?m={queued.id}"


async def test_a_slack_retry_of_the_same_event_sends_one_sms(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    event = world.slack.post_as_user(dm, ALICE, "Did you get it?", thread_ts=thread_ts)
    url = world.service.url + "/slack/events"
    first = await world.slack.send_event(url, event, event_id="Ev0RETRY")
    again = await world.slack.send_event(url, event, event_id="Ev0RETRY", retry_num=1)
    # A retry with a new envelope id but the same message is also recognised.
    other = await world.slack.send_event(url, event, event_id="Ev0OTHER", retry_num=2)
    assert [first[0], again[0], other[0]] == [200, 200, 200]
    await world.drain()
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == ["Did you get it?"]


async def test_two_workers_racing_send_each_text_once(world: World) -> None:
    from bot.bridge.sms_outbox import SmsOutbox

    dm, thread_ts = await started_thread(world)
    for n in range(6):
        await world.activist_writes(ALICE, dm, thread_ts, f"message {n}")
    grace = timedelta(seconds=0.2)
    first = SmsOutbox(world.rt, rate_per_second=0, unknown_grace=grace)
    second = SmsOutbox(world.rt, rate_per_second=0, unknown_grace=grace)
    await asyncio.gather(first.drain(), second.drain(), first.drain(), second.drain())
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == [
        f"message {n}" for n in range(6)
    ]


async def test_members_text_is_inert_in_slack(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    typed = "<!channel> & <@U123> <http://evil.example|your bank> *bold*"
    await world.member_texts(SAM_PHONE, typed)
    await world.drain()
    reply = world.slack.thread(dm, thread_ts)[-1]
    assert world.slack.live_tokens(reply["text"]) == [f"<@{ALICE}>"]
    shown = next(b for b in reply["blocks"] if b["type"] == "section")["text"]
    assert shown == {"type": "plain_text", "text": typed, "emoji": False}


async def test_only_the_owner_can_text_from_a_thread(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    await world.activist_writes(BOB, dm, thread_ts, "I'll take this one")
    await world.drain()
    assert world.twilio.sent_to(SAM_PHONE) == []
    assert any("nothing was sent" in e["text"] for e in world.slack.ephemerals(BOB))


async def test_edits_and_deletions_never_reach_the_member(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    status, _ = await world.activist_writes(ALICE, dm, thread_ts, "See you on Tuesdya")
    assert status == 200
    await world.drain()
    original = next(m for m in world.slack.thread(dm, thread_ts) if m.get("user") == ALICE)
    url = world.service.url + "/slack/events"
    await world.slack.send_event(url, world.slack.edit_as_user(dm, original["ts"], "Tuesday"))
    await world.slack.send_event(url, world.slack.delete_as_user(dm, original["ts"]))
    await world.drain()
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == ["See you on Tuesdya"]
    notes = [e["text"] for e in world.slack.ephemerals(ALICE)]
    assert any("Edits do not reach the member" in n for n in notes)
    assert any("does not unsend" in n for n in notes)


async def test_bot_messages_are_never_texted(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    event = world.slack.post_as_user(dm, ALICE, "from a bot", thread_ts=thread_ts)
    event["bot_id"] = "B0OTHER"
    await world.slack.send_event(world.service.url + "/slack/events", event)
    await world.drain()
    assert world.twilio.sent_to(SAM_PHONE) == []


async def test_a_repeated_inbound_webhook_is_stored_and_posted_once(world: World) -> None:
    conversation_id = await owned_conversation(world)
    sid = "SM" + "ab" * 16
    for _ in range(3):
        status, _ = await world.member_texts(SAM_PHONE, "Just the once", message_sid=sid)
        assert status == 200
    await world.drain()
    assert await count(world, Message, direction="in") == 1
    dm, thread_ts = await thread_for(world, conversation_id)
    texts = [world.slack.rendered_text(m) for m in world.slack.thread(dm, thread_ts)]
    assert sum("Just the once" in t for t in texts) == 1


async def test_posts_to_one_channel_are_paced(database_url: str) -> None:
    from bot.app import WorkerOptions

    paced = WorkerOptions(
        sms_rate_per_second=0,
        slack_posts_per_second=4,
        slack_burst=1,
        poll_interval=0.05,
        unknown_grace=timedelta(seconds=0.2),
        run_workers=False,
    )
    world = await World.start(database_url, options=paced)
    try:
        conversation_id = await owned_conversation(world)
        for n in range(4):
            await world.member_texts(SAM_PHONE, f"text {n}")
        await world.drain()
        dm, _ = await thread_for(world, conversation_id)
        posts = [
            c.at
            for c in world.slack.calls
            if c.method == "chat.postMessage" and c.params.get("channel") == dm
        ]
        assert len(posts) == 5  # the card, then four replies
        gaps = [b - a for a, b in itertools.pairwise(posts)]
        assert min(gaps) >= 0.2  # 4 a second: never two posts in the same quarter second
    finally:
        await world.stop()


async def test_info_logs_hold_no_phone_number_or_message_body(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    dm, thread_ts = await started_thread(world)
    await world.member_texts(SAM_PHONE, "My secret reply about the ballot")
    await world.activist_writes(ALICE, dm, thread_ts, "A private answer for Sam")
    await world.drain()
    [sms] = [m for m in world.twilio.sent_to(SAM_PHONE) if m["body"].startswith("A private")]
    await world.twilio.deliver(sms["sid"], "undelivered", error_code=30003)
    await world.drain()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "nothing was logged at all"
    for secret in (SAM_PHONE, SAM_PHONE[3:], "My secret reply", "A private answer"):
        assert secret not in logged

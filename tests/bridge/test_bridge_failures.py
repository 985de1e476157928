"""The bridge when something is refused or goes wrong: forged signatures, rate limits,
opt-outs (STOP, START, error 21610, Twilio's reports) and delivery reports.

Everything goes through the real slack_sdk and twilio clients, signed HTTP
requests and the local fakes; assertions are on what the fakes received.
"""

from __future__ import annotations

import asyncio

from bot.fakes.world import PUBLIC_BASE_URL, World
from storage.models import Message, OptOut
from tests.helpers import (
    ALICE,
    SAM_PHONE,
    count,
    owned_conversation,
    rows,
    started_thread,
    thread_for,
)


def _reactions(message: dict[str, object]) -> list[str]:
    return [r["name"] for r in message.get("reactions") or []]  # type: ignore[attr-defined, index]


async def test_forged_twilio_signature_is_refused_and_nothing_is_stored(world: World) -> None:
    await owned_conversation(world)
    status, _ = await world.twilio.send_inbound(
        world.service.url + "/twilio/inbound",
        from_=SAM_PHONE,
        body="forged",
        signed_url=PUBLIC_BASE_URL + "/twilio/inbound",
        forge=True,
    )
    assert status == 403
    # Signed for a different URL than the one Twilio was given: refused too.
    status, _ = await world.twilio.send_inbound(
        world.service.url + "/twilio/inbound",
        from_=SAM_PHONE,
        body="wrong url",
    )
    assert status == 403
    status, _ = await world.twilio.send_status(
        world.service.url + "/twilio/status",
        {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"},
        signed_url=PUBLIC_BASE_URL + "/twilio/status",
        forge=True,
    )
    assert status == 403
    await world.drain()
    assert await count(world, Message) == 0
    assert world.slack.calls_to("chat.postMessage") == []


async def test_bad_slack_signature_is_refused_and_nothing_is_sent(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    event = world.slack.post_as_user(dm, ALICE, "sneaky", thread_ts=thread_ts)
    status, _ = await world.slack.send_event(
        world.service.url + "/slack/events", event, signing_secret="not-the-secret"
    )
    assert status == 401
    await world.drain()
    assert world.twilio.sent_to(SAM_PHONE) == []
    assert await count(world, Message, direction="out") == 0


async def test_slack_429_is_waited_out_and_the_reply_delivered(world: World) -> None:
    conversation_id = await owned_conversation(world)
    world.slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    await world.member_texts(SAM_PHONE, "Are you there?")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await world.drain()
    assert loop.time() - started >= 1.0  # Retry-After was honoured, not hammered
    dm, thread_ts = await thread_for(world, conversation_id)
    thread = world.slack.thread(dm, thread_ts)
    assert len(thread) == 2 and "Are you there?" in world.slack.rendered_text(thread[1])


async def test_twilio_20429_is_waited_out_and_the_text_sent_once(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    world.twilio.rate_limit(times=1, retry_after=1)
    await world.activist_writes(ALICE, dm, thread_ts, "Try again later")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await world.drain()
    assert loop.time() - started >= 1.0
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == ["Try again later"]
    creates = [r for r in world.twilio.requests if r["method"] == "POST"]
    assert len(creates) == 2  # one refused with 20429, one accepted


async def test_error_21610_opts_the_member_out_without_retrying(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    world.twilio.fail_next(21610, message="Attempt to send to unsubscribed recipient")
    await world.activist_writes(ALICE, dm, thread_ts, "Hello again")
    await world.drain()
    assert world.twilio.sent_to(SAM_PHONE) == []
    creates = [r for r in world.twilio.requests if r["method"] == "POST"]
    assert len(creates) == 1
    assert await count(world, OptOut, phone=SAM_PHONE) == 1
    [failed] = await rows(world, Message, direction="out")
    assert failed.status == "failed" and "opted out" in (failed.status_reason or "")
    thread = world.slack.thread(dm, thread_ts)
    assert "x" in _reactions(next(m for m in thread if m.get("text") == "Hello again"))
    assert any("Opted out" in m["text"] for m in thread)

    # And nothing more is even attempted.
    await world.activist_writes(ALICE, dm, thread_ts, "Still there?")
    await world.drain()
    assert len([r for r in world.twilio.requests if r["method"] == "POST"]) == 1


async def test_stop_opts_out_and_start_opts_back_in(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    await world.member_texts(SAM_PHONE, "  Stop! ")
    await world.drain()
    assert await count(world, OptOut, phone=SAM_PHONE) == 1
    thread = world.slack.thread(dm, thread_ts)
    assert any("Opted out" in m["text"] for m in thread)
    assert "Opted out" in str(thread[0]["blocks"])  # the card says so

    await world.activist_writes(ALICE, dm, thread_ts, "Sorry to hear that")
    await world.drain()
    assert world.twilio.sent_to(SAM_PHONE) == []
    assert any("opted out" in e["text"] for e in world.slack.ephemerals(ALICE))

    await world.member_texts(SAM_PHONE, "START")
    await world.drain()
    assert await count(world, OptOut, phone=SAM_PHONE) == 0
    await world.activist_writes(ALICE, dm, thread_ts, "Welcome back")
    await world.drain()
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == ["Welcome back"]


async def test_twilio_opt_out_report_is_honoured(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    await world.member_texts(SAM_PHONE, "no more please", opt_out_type="STOP")
    await world.drain()
    assert await count(world, OptOut, phone=SAM_PHONE) == 1
    assert any("Twilio reported" in m["text"] for m in world.slack.thread(dm, thread_ts))


async def test_delivery_state_moves_forward_only(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    await world.activist_writes(ALICE, dm, thread_ts, "Have you voted?")
    await world.drain()

    def mine() -> dict[str, object]:
        return next(
            m for m in world.slack.thread(dm, thread_ts) if m.get("text") == "Have you voted?"
        )

    assert _reactions(mine()) == ["hourglass_flowing_sand"]
    [sms] = world.twilio.sent_to(SAM_PHONE)
    await world.twilio.deliver(sms["sid"], "sent")
    await world.drain()
    assert _reactions(mine()) == ["outbox_tray"]
    await world.twilio.deliver(sms["sid"], "delivered")
    await world.drain()
    assert _reactions(mine()) == ["white_check_mark"]
    # A late or repeated callback never moves it back.
    await world.twilio.deliver(sms["sid"], "sent")
    await world.twilio.deliver(sms["sid"], "delivered")
    await world.drain()
    assert _reactions(mine()) == ["white_check_mark"]
    [row] = await rows(world, Message, direction="out")
    assert row.status == "delivered"


async def test_failed_delivery_says_why_in_words(world: World) -> None:
    dm, thread_ts = await started_thread(world)
    await world.activist_writes(ALICE, dm, thread_ts, "Are you there?")
    await world.drain()
    [sms] = world.twilio.sent_to(SAM_PHONE)
    await world.twilio.deliver(sms["sid"], "undelivered", error_code=30003)
    await world.drain()
    note = world.slack.thread(dm, thread_ts)[-1]
    assert note["text"].startswith(":x: Not delivered") and "30003" not in note["text"]
    assert "unreachable" in note["text"] or "switched off" in note["text"]

"""Outcomes and replacement requests from a member's card, end to end, and the card's
ways to reach coordinators (asking for help; failures and opt-outs posted)."""

from __future__ import annotations

import json

from bot.bridge.card_actions import OPT_OUT_ACTION
from bot.fakes.world import ADMIN, World
from storage.models import OptOut, OutcomeEvent, ReplacementRequest
from tests.helpers import ALICE, BOB, click, command, count, rows
from tests.scripts.helpers import (
    SAM,
    URL,
    bodies,
    card,
    conversation,
    element,
    latest_modal,
    send_replacement_details,
)


async def test_outcomes_are_recorded_changed_and_kept(world: World) -> None:
    c = await conversation(world)
    await click(world, ALICE, "outcome_will_vote", str(c.id))
    await click(world, ALICE, "outcome_voted", str(c.id))
    c = await conversation(world)
    assert c.outcome == "voted" and c.state == "open"
    history = [(e.previous, e.outcome, e.user_id) for e in await rows(world, OutcomeEvent)]
    assert history == [(None, "will_vote", ALICE), ("will_vote", "voted", ALICE)]
    assert "Outcome:* Voted" in json.dumps(card(world, c)["blocks"])
    assert element(card(world, c), "outcome_voted").get("style") == "primary"
    # Someone else may not set it.
    await click(world, BOB, "outcome_will_vote", str(c.id))
    assert (await conversation(world)).outcome == "voted"


async def test_wrong_number_closes_the_conversation(world: World) -> None:
    c = await conversation(world)
    await click(world, ALICE, "outcome_wrong_number", str(c.id))
    assert (await conversation(world)).state == "closed"


async def test_the_opt_out_button_opts_the_member_out(world: World) -> None:
    c = await conversation(world)
    assert "confirm" in element(card(world, c), OPT_OUT_ACTION)
    await click(world, ALICE, OPT_OUT_ACTION, str(c.id))
    assert await count(world, OptOut, phone=SAM) == 1
    assert c.dm_channel and c.thread_ts
    await world.activist_writes(ALICE, c.dm_channel, c.thread_ts, "one more thing")
    await world.drain()
    assert len(bodies(world)) == 1


async def test_a_replacement_request_takes_details(world: World) -> None:
    c = await conversation(world)
    await world.slack.send_block_action(
        world.service.url + URL, user_id=ALICE, action_id="outcome_replacement", value=str(c.id)
    )
    view = latest_modal(world)
    assert await rows(world, ReplacementRequest) == []  # nothing until the details come
    # A new address chosen but not given: the modal says so.
    assert "errors" in await send_replacement_details(world, view, "")
    await send_replacement_details(world, view, "1 New St, Leeds")
    [request] = await rows(world, ReplacementRequest)
    assert (request.address_confirmed, request.new_address) == (False, "1 New St, Leeds")
    assert (await conversation(world)).outcome == "replacement"


async def test_app_home_shows_the_outcomes_so_far(world: World) -> None:
    c = await conversation(world)
    assert "Outcomes so far*\\nnone yet" in json.dumps(world.slack.home_view(ALICE))
    await click(world, ALICE, "outcome_voted", str(c.id))
    home = json.dumps(world.slack.home_view(ALICE))
    assert "Outcomes so far*\\nVoted 1" in home


async def test_a_replacement_request_reaches_the_export(world: World) -> None:
    c = await conversation(world)
    await world.slack.send_block_action(
        world.service.url + URL, user_id=ALICE, action_id="outcome_replacement", value=str(c.id)
    )
    view = latest_modal(world)
    await send_replacement_details(world, view, "2 Mill Lane")
    assert "Preparing the replacements export" in await command(world, ADMIN, "export replacements")
    upload = world.slack.uploads[-1]
    text = bytes(upload["content"]).decode("utf-8-sig")
    assert "2 Mill Lane" in text and "Sam" in text and "'+447400100001" in text


async def test_ask_for_help_reaches_coordinators_and_their_answer_comes_back(
    world: World,
) -> None:
    from bot.bridge.card_actions import ASK_ACTION
    from bot.bridge.support import ASK_CALLBACK, QUESTION_ACTION, QUESTION_BLOCK
    from bot.fakes.world import SUPPORT_CHANNEL

    c = await conversation(world)
    assert element(card(world, c), ASK_ACTION)["value"] == str(c.id)
    await world.slack.send_block_action(
        world.service.url + URL,
        user_id=ALICE,
        action_id=ASK_ACTION,
        value=str(c.id),
        channel_id=c.dm_channel,
        message_ts=c.thread_ts,
    )
    view = latest_modal(world)
    assert view["callback_id"] == ASK_CALLBACK
    await world.slack.send_view_submission(
        world.service.url + URL,
        user_id=ALICE,
        callback_id=ASK_CALLBACK,
        private_metadata=view["private_metadata"],
        values={
            QUESTION_BLOCK: {
                QUESTION_ACTION: {
                    "type": "plain_text_input",
                    "value": "She says she never got a ballot",
                }
            }
        },
    )
    await world.drain()
    [help_card] = [m for m in world.slack.messages(SUPPORT_CHANNEL) if "asks for help" in m["text"]]
    assert "She says she never got a ballot" in json.dumps(help_card["blocks"])
    assert "escalation_claim" in json.dumps(help_card["blocks"])

    answer = world.slack.post_as_user(
        SUPPORT_CHANNEL, "U0COORD", "Use ;replacement", thread_ts=help_card["ts"]
    )
    await world.slack.send_event(world.service.url + URL, answer)
    await world.drain()
    assert c.dm_channel and c.thread_ts
    last = world.slack.thread(c.dm_channel, c.thread_ts)[-1]
    assert "<@U0COORD> answered your question: Use ;replacement" in last["text"]
    assert len(bodies(world)) == 1  # nothing texted to the member


async def test_failures_and_opt_outs_are_posted_for_coordinators(world: World) -> None:
    from bot.fakes.world import SUPPORT_CHANNEL

    [sms] = world.twilio.sent_to(SAM)
    await world.twilio.deliver(sms["sid"], "undelivered", error_code=30003)
    await world.drain()
    await world.member_texts(SAM, "STOP")
    await world.drain()
    notes = [m["text"] for m in world.slack.messages(SUPPORT_CHANNEL)]
    assert any("Sam Jones" in n and "not delivered" in n for n in notes)
    assert any("Sam Jones" in n and "opted out" in n for n in notes)
    assert not any(SAM in n for n in notes)

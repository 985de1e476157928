"""Scripts (modal, card menu, `;name`), outcomes and replacement requests, end to end."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.bridge.card_actions import OPT_OUT_ACTION, SCRIPT_MENU_ACTION
from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.fakes.world import ADMIN, World
from bot.scripts.replacement_modal import ADDRESS_ACTION, ADDRESS_BLOCK, NEW_ACTION, NEW_BLOCK
from bot.scripts.script_modal import PICK_CONVERSATION, PICK_SCRIPT, TEXT_ACTION, USE_GSM_ACTION
from storage.models import Conversation, Message, OptOut, OutcomeEvent, ReplacementRequest
from tests.helpers import (
    ALICE,
    ALICE_USER,
    BOB,
    Clock,
    campaign_world,
    click,
    command,
    count,
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
initial: Hi {first_name}, it's {activist_first_name}. Have you voted?
scripts:
  voted: Brilliant, thank you {first_name}!
  shift: Thanks {first_name}, see you on the {shift} shift.
  how_to_vote: Post it before {ballot_closes_date}.
  smart: Thanks {first_name} — it’s done
outcomes:
  - {key: voted, label: Voted}
  - {key: will_vote, label: Will vote}
  - {key: replacement, label: Needs replacement ballot, replacement_request: true}
  - {key: wrong_number, label: Wrong number, closes: true}
"""
ROSTER = "first_name,last_name,phone,branch\nSam,Jones,07400100001,Leeds\n"
SAM = "+447400100001"
URL = "/slack/events"


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with campaign_world(
        database_url, tmp_path, CAMPAIGN, roster=ROSTER, users=[ALICE_USER]
    ) as w:
        await command(w, ADMIN, "assign <@U0ALICE|alice> 1")
        await click(w, ALICE, AGREE_ACTION, str(home_button(w, ALICE, AGREE_ACTION)))
        await click(w, ALICE, SEND_NEXT_ACTION, str(home_button(w, ALICE, SEND_NEXT_ACTION)))
        yield w


async def conversation(world: World) -> Conversation:
    [found] = await rows(world, Conversation)
    return found


def bodies(world: World) -> list[str]:
    return [m["body"] for m in world.twilio.sent_to(SAM)]


def card(world: World, c: Conversation) -> dict[str, Any]:
    assert c.dm_channel and c.thread_ts
    return world.slack.thread(c.dm_channel, c.thread_ts)[0]


def element(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message.get("blocks", []):
        for e in block.get("elements", []):
            if e.get("action_id") == action_id:
                return e
    raise AssertionError(f"no {action_id} in the message")


async def test_semicolon_shortcut_sends_the_rendered_script_once(world: World) -> None:
    c = await conversation(world)
    assert c.dm_channel and c.thread_ts
    event = world.slack.post_as_user(c.dm_channel, ALICE, ";voted", thread_ts=c.thread_ts)
    await world.slack.send_event(world.service.url + URL, event, event_id="Ev1")
    await world.slack.send_event(world.service.url + URL, event, event_id="Ev1", retry_num=1)
    await world.drain()
    assert bodies(world)[1:] == ["Brilliant, thank you Sam!"]
    shown = world.slack.thread(c.dm_channel, c.thread_ts)[-1]
    assert "Brilliant, thank you Sam!" in json.dumps(shown["blocks"], ensure_ascii=False)


async def test_an_unknown_shortcut_sends_nothing_and_lists_the_scripts(world: World) -> None:
    c = await conversation(world)
    assert c.dm_channel and c.thread_ts
    await world.activist_writes(ALICE, c.dm_channel, c.thread_ts, ";votd")
    await world.drain()
    assert len(bodies(world)) == 1
    note = world.slack.ephemerals(ALICE)[-1]["text"]
    assert "no script `votd`" in note and "`;voted`" in note and "`;how_to_vote`" in note


async def test_a_missing_field_blocks_a_script(world: World) -> None:
    c = await conversation(world)
    assert c.dm_channel and c.thread_ts
    await world.activist_writes(ALICE, c.dm_channel, c.thread_ts, ";shift")
    await world.drain()
    assert len(bodies(world)) == 1
    assert "{shift}" in world.slack.ephemerals(ALICE)[-1]["text"]


async def test_the_card_menu_previews_then_sends(world: World) -> None:
    c = await conversation(world)
    menu = element(card(world, c), SCRIPT_MENU_ACTION)
    option = next(o for o in menu["options"] if o["value"].endswith(":how_to_vote"))
    status, _ = await world.slack.send_block_action(
        world.service.url + URL,
        user_id=ALICE,
        action_id=SCRIPT_MENU_ACTION,
        action_type="static_select",
        value=option["value"],
        channel_id=c.dm_channel,
        message_ts=c.thread_ts,
    )
    assert status == 200
    view = latest_modal(world)
    preview = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Post it before Thursday 4 November." in preview and "GSM-7" in preview
    assert bodies(world)[1:] == []  # nothing sent by the preview
    await _submit(world, view, "Post it before Thursday 4 November, please!")
    assert bodies(world)[1:] == ["Post it before Thursday 4 November, please!"]


async def test_the_scripts_modal_picks_previews_edits_and_sends_once(world: World) -> None:
    c = await conversation(world)
    clock = world.rt.clock
    assert isinstance(clock, Clock)
    clock.at = datetime(2021, 11, 1, 10, 5, tzinfo=UTC)  # the reply comes after the text
    await world.member_texts(SAM, "Yes I did!")
    await world.drain()
    status, _ = await world.slack.send_command(
        world.service.url + URL, user_id=ALICE, text="scripts"
    )
    assert status == 200
    view = latest_modal(world)
    picker = element(view, PICK_CONVERSATION)
    assert picker["options"][0]["text"]["text"].startswith("💬 Sam Jones")  # waiting first
    view = await _pick(world, view, PICK_CONVERSATION, str(c.id))
    view = await _pick(world, view, PICK_SCRIPT, "voted")
    assert "Brilliant, thank you Sam!" in json.dumps(view["blocks"], ensure_ascii=False)
    await _submit(world, view, "Brilliant, thank you Sam! See you Tuesday.")
    await _submit(world, view, "Brilliant, thank you Sam! See you Tuesday.")  # double submit
    assert bodies(world)[1:] == ["Brilliant, thank you Sam! See you Tuesday."]


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
    _status, body = await world.slack.send_view_submission(
        world.service.url + URL,
        user_id=ALICE,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values={
            ADDRESS_BLOCK: {
                ADDRESS_ACTION: {"type": "radio_buttons", "selected_option": {"value": "new"}}
            },
            NEW_BLOCK: {NEW_ACTION: {"type": "plain_text_input", "value": ""}},
        },
    )
    assert "errors" in body
    await world.slack.send_view_submission(
        world.service.url + URL,
        user_id=ALICE,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values={
            ADDRESS_BLOCK: {
                ADDRESS_ACTION: {"type": "radio_buttons", "selected_option": {"value": "new"}}
            },
            NEW_BLOCK: {NEW_ACTION: {"type": "plain_text_input", "value": "1 New St, Leeds"}},
        },
    )
    await world.drain()
    [request] = await rows(world, ReplacementRequest)
    assert (request.address_confirmed, request.new_address) == (False, "1 New St, Leeds")
    assert (await conversation(world)).outcome == "replacement"


async def test_organisers_manage_scripts_from_slack(world: World) -> None:
    reply = await command(world, ADMIN, "scripts add thanks Thanks {first_name}, it's appreciated!")
    assert "Added script `thanks`" in reply
    assert "`;thanks`" in await command(world, ALICE, "scripts list")
    assert "did you mean {first_name}" in await command(
        world, ADMIN, "scripts edit thanks Hi {frist_name}"
    )
    assert "Only organisers" in await command(world, ALICE, "scripts remove thanks")
    assert "Removed" in await command(world, ADMIN, "scripts remove thanks")
    c = await conversation(world)
    assert c.dm_channel and c.thread_ts
    await world.activist_writes(ALICE, c.dm_channel, c.thread_ts, ";thanks")
    await world.drain()
    assert len(bodies(world)) == 1 and await count(world, Message, kind="script") == 0


def latest_modal(world: World) -> dict[str, Any]:
    """The modal the app opened last, as Slack holds it (with id and hash)."""
    modals = world.slack.workspace.modals
    assert modals, "no modal was opened"
    found = world.slack.modal(list(modals)[-1])
    assert found is not None
    return found


async def _pick(world: World, view: dict[str, Any], action_id: str, value: str) -> dict[str, Any]:
    status, _ = await world.slack.send_block_action(
        world.service.url + URL,
        user_id=ALICE,
        action_id=action_id,
        action_type="static_select",
        value=value,
        view=view,
    )
    assert status == 200
    updated = world.slack.modal(view["id"])
    assert updated is not None
    return updated


async def _submit(world: World, view: dict[str, Any], text: str) -> None:
    block_id = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    status, _ = await world.slack.send_view_submission(
        world.service.url + URL,
        user_id=ALICE,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        view_id=view.get("id") or "V1",
        values={block_id: {TEXT_ACTION: {"type": "plain_text_input", "value": text}}},
    )
    assert status == 200
    await world.drain()


async def test_app_home_shows_the_outcomes_so_far(world: World) -> None:
    c = await conversation(world)
    assert "Outcomes so far*\\nnone yet" in json.dumps(world.slack.home_view(ALICE))
    await click(world, ALICE, "outcome_voted", str(c.id))
    home = json.dumps(world.slack.home_view(ALICE))
    assert "Outcomes so far*\\nVoted 1" in home


async def test_the_preview_offers_the_gsm7_version(world: World) -> None:
    c = await conversation(world)
    menu = element(card(world, c), SCRIPT_MENU_ACTION)
    option = next(o for o in menu["options"] if o["value"].endswith(":smart"))
    await world.slack.send_block_action(
        world.service.url + URL,
        user_id=ALICE,
        action_id=SCRIPT_MENU_ACTION,
        action_type="static_select",
        value=option["value"],
        channel_id=c.dm_channel,
        message_ts=c.thread_ts,
    )
    view = latest_modal(world)
    preview = json.dumps(view["blocks"], ensure_ascii=False)
    assert "UCS-2" in preview and "forced by" in preview and "—" in preview
    offer = element(view, USE_GSM_ACTION)
    await world.slack.send_block_action(
        world.service.url + URL,
        user_id=ALICE,
        action_id=USE_GSM_ACTION,
        value=offer["value"],
        view=view,
    )
    view = latest_modal(world)
    preview = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Thanks Sam - it's done" in preview and "GSM-7" in preview
    await _submit(world, view, "Thanks Sam - it's done")
    assert bodies(world)[1:] == ["Thanks Sam - it's done"]


async def test_a_replacement_request_reaches_the_export(world: World) -> None:
    c = await conversation(world)
    await world.slack.send_block_action(
        world.service.url + URL, user_id=ALICE, action_id="outcome_replacement", value=str(c.id)
    )
    view = latest_modal(world)
    await world.slack.send_view_submission(
        world.service.url + URL,
        user_id=ALICE,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values={
            ADDRESS_BLOCK: {
                ADDRESS_ACTION: {"type": "radio_buttons", "selected_option": {"value": "new"}}
            },
            NEW_BLOCK: {NEW_ACTION: {"type": "plain_text_input", "value": "2 Mill Lane"}},
        },
    )
    await world.drain()
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

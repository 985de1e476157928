"""Reply suggestions in the thread: shown when sure, one click to record, one to send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.bridge.card_actions import SUGGESTED_OUTCOME_ACTION, SUGGESTED_SCRIPT_ACTION
from bot.fakes.world import ADMIN, World
from bot.scripts import replacement_modal
from storage.models import Message, OptOut, OutcomeEvent, ReplacementRequest
from tests.helpers import (
    ALICE,
    BOB,
    click,
    command,
    count,
    rows,
)
from tests.scripts.helpers import (
    CAMPAIGN,
    SAM,
    bodies,
    conversation,
    latest_modal,
    send_replacement_details,
)

OUTCOMES = """\
outcomes:
  - {key: voted, label: Voted, script: voted}
  - {key: will_vote, label: Will vote, script: how_to_vote}
  - {key: replacement, label: Needs replacement ballot, replacement_request: true}
  - {key: wrong_number, label: Wrong number, closes: true}
"""
SUGGESTING = CAMPAIGN[: CAMPAIGN.index("outcomes:")] + OUTCOMES


@pytest.fixture
def campaign() -> str:
    return SUGGESTING


async def reply(world: World, text: str) -> dict[str, Any]:
    """Sam texts `text`; returns the post that appeared in Alice's thread."""
    status, _ = await world.member_texts(SAM, text)
    assert status == 200
    await world.drain()
    c = await conversation(world)
    assert c.dm_channel and c.thread_ts
    return world.slack.thread(c.dm_channel, c.thread_ts)[-1]


def buttons(post: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        e["action_id"]: e
        for block in post.get("blocks", [])
        if block["type"] == "actions"
        for e in block["elements"]
    }


async def test_a_sure_reply_offers_its_outcome_and_script(world: World) -> None:
    post = await reply(world, "ye posted it yesterday 👍")
    assert "Looks like: *Voted*" in json.dumps(post["blocks"])
    offered = buttons(post)
    assert offered[SUGGESTED_OUTCOME_ACTION]["text"]["text"] == "Record: Voted"
    assert offered[SUGGESTED_SCRIPT_ACTION]["text"]["text"] == "Send ;voted"
    # Nothing is recorded or sent without a click.
    assert (await conversation(world)).outcome is None
    assert len(bodies(world)) == 1

    value = offered[SUGGESTED_OUTCOME_ACTION]["value"]
    await click(world, ALICE, SUGGESTED_OUTCOME_ACTION, value)
    assert (await conversation(world)).outcome == "voted"
    await click(world, ALICE, SUGGESTED_SCRIPT_ACTION, value)
    await click(world, ALICE, SUGGESTED_SCRIPT_ACTION, value)  # a double click sends once
    assert bodies(world)[1:] == ["Brilliant, thank you Sam!"]
    [member_text] = await rows(world, Message, direction="in")
    assert member_text.suggestion == "voted" and member_text.suggestion_taken_at is not None


async def test_an_unsure_reply_offers_nothing(world: World) -> None:
    post = await reply(world, "who is this?")
    assert "Looks like" not in json.dumps(post["blocks"])
    assert SUGGESTED_OUTCOME_ACTION not in buttons(post)
    [member_text] = await rows(world, Message, direction="in")
    assert member_text.suggestion is None


async def test_opt_out_wording_asks_before_opting_out(world: World) -> None:
    post = await reply(world, "please don't text me again")
    opt_out = buttons(post)[SUGGESTED_OUTCOME_ACTION]
    assert opt_out["text"]["text"] == "Opt out" and "confirm" in opt_out
    assert SUGGESTED_SCRIPT_ACTION not in buttons(post)
    assert await count(world, OptOut, phone=SAM) == 0  # words alone never opt out
    await click(world, ALICE, SUGGESTED_OUTCOME_ACTION, opt_out["value"])
    assert await count(world, OptOut, phone=SAM) == 1


async def test_only_the_owner_can_take_a_suggestion(world: World) -> None:
    post = await reply(world, "posted it yesterday")
    value = buttons(post)[SUGGESTED_OUTCOME_ACTION]["value"]
    await click(world, BOB, SUGGESTED_OUTCOME_ACTION, value)
    await click(world, BOB, SUGGESTED_SCRIPT_ACTION, value)
    assert (await conversation(world)).outcome is None
    assert await count(world, OutcomeEvent) == 0
    assert len(bodies(world)) == 1
    told = [m["text"] for m in world.slack.messages(world.slack.dm_channel(BOB))]
    assert told.count("That member is not in your conversations.") == 2


async def test_an_older_suggestion_is_not_taken_after_a_newer_reply(world: World) -> None:
    older = await reply(world, "not yet, will do tonight")
    await reply(world, "posted it now")
    value = buttons(older)[SUGGESTED_OUTCOME_ACTION]["value"]
    await click(world, ALICE, SUGGESTED_OUTCOME_ACTION, value)
    await click(world, ALICE, SUGGESTED_SCRIPT_ACTION, value)
    assert (await conversation(world)).outcome is None
    assert len(bodies(world)) == 1
    told = [m["text"] for m in world.slack.messages(world.slack.dm_channel(ALICE))]
    assert any("texted again since that suggestion" in t for t in told)


async def test_a_replacement_suggestion_opens_the_details_modal(world: World) -> None:
    post = await reply(world, "never got a ballot")
    offered = buttons(post)
    assert SUGGESTED_SCRIPT_ACTION not in offered  # this campaign gives it no script
    await click(world, ALICE, SUGGESTED_OUTCOME_ACTION, offered[SUGGESTED_OUTCOME_ACTION]["value"])
    modal = latest_modal(world)
    c = await conversation(world)
    assert modal["callback_id"] == replacement_modal.CALLBACK
    assert json.loads(modal["private_metadata"]) == {"conversation": c.id, "outcome": "replacement"}
    assert await rows(world, ReplacementRequest) == []  # recorded when the modal is sent
    [member_text] = await rows(world, Message, direction="in")
    assert member_text.suggestion_taken_at is None  # a cancelled modal is not a take
    await send_replacement_details(world, modal)
    assert len(await rows(world, ReplacementRequest)) == 1
    [member_text] = await rows(world, Message, direction="in")
    assert member_text.suggestion_taken_at is not None


async def test_stats_count_suggestions_shown_and_taken(world: World) -> None:
    await reply(world, "not yet, will do tonight")
    await reply(world, "who is this?")
    latest = await reply(world, "wil do 2moro")
    await click(
        world, ALICE, SUGGESTED_OUTCOME_ACTION, buttons(latest)[SUGGESTED_OUTCOME_ACTION]["value"]
    )
    text = await command(world, ADMIN, "stats")
    assert "*Reply suggestions*: 2 shown · 1 taken (50%)" in text

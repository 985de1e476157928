"""Scripts end to end: the `;name` shortcut, the card menu, the scripts modal, and
organisers managing them from Slack."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.bridge.card_actions import SCRIPT_MENU_ACTION
from bot.fakes.world import ADMIN, World
from bot.scripts.script_modal import PICK_CONVERSATION, PICK_SCRIPT, USE_GSM_ACTION
from storage.models import Message
from tests.helpers import ALICE, Clock, command, count
from tests.scripts.helpers import (
    SAM,
    URL,
    bodies,
    card,
    conversation,
    element,
    latest_modal,
    pick,
    submit,
)


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
    await submit(world, view, "Post it before Thursday 4 November, please!")
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
    view = await pick(world, view, PICK_CONVERSATION, str(c.id))
    view = await pick(world, view, PICK_SCRIPT, "voted")
    assert "Brilliant, thank you Sam!" in json.dumps(view["blocks"], ensure_ascii=False)
    await submit(world, view, "Brilliant, thank you Sam! See you Tuesday.")
    await submit(world, view, "Brilliant, thank you Sam! See you Tuesday.")  # double submit
    assert bodies(world)[1:] == ["Brilliant, thank you Sam! See you Tuesday."]


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
    await submit(world, view, "Thanks Sam - it's done")
    assert bodies(world)[1:] == ["Thanks Sam - it's done"]


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

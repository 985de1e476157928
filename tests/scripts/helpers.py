"""What the script and outcome tests share: one member, Sam, texted by Alice, and
ways to read Sam's card and the modals the app opens."""

from __future__ import annotations

from typing import Any

from bot.fakes.world import World
from bot.scripts.replacement_modal import ADDRESS_ACTION, ADDRESS_BLOCK, NEW_ACTION, NEW_BLOCK
from bot.scripts.script_modal import TEXT_ACTION
from storage.models import Conversation
from tests.helpers import ALICE, rows

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


def latest_modal(world: World) -> dict[str, Any]:
    """The modal the app opened last, as Slack holds it (with id and hash)."""
    modals = world.slack.workspace.modals
    assert modals, "no modal was opened"
    found = world.slack.modal(list(modals)[-1])
    assert found is not None
    return found


async def pick(world: World, view: dict[str, Any], action_id: str, value: str) -> dict[str, Any]:
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


async def submit(world: World, view: dict[str, Any], text: str) -> None:
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


async def send_replacement_details(
    world: World, view: dict[str, Any], new_address: str | None = None
) -> str:
    """Submit the replacement modal: the address we hold, or `new_address`; the app's answer."""
    values: dict[str, Any] = {
        ADDRESS_BLOCK: {
            ADDRESS_ACTION: {
                "type": "radio_buttons",
                "selected_option": {"value": "same" if new_address is None else "new"},
            }
        }
    }
    if new_address is not None:
        values[NEW_BLOCK] = {NEW_ACTION: {"type": "plain_text_input", "value": new_address}}
    _status, body = await world.slack.send_view_submission(
        world.service.url + URL,
        user_id=ALICE,
        callback_id=view["callback_id"],
        private_metadata=view["private_metadata"],
        values=values,
    )
    await world.drain()
    return body

"""Taking a reply suggestion: record its outcome, or send the outcome's script.

Each button names the member's message it was suggested for; the outcome
and the script are read from that message and the campaign, never from the
button, and the same ownership and opt-out checks apply as to the card's own
buttons. Every take is stamped on the message, so the campaign can count how
often activists accept a suggestion (`/turnout stats`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.bridge.card_actions import OPT_OUT_KEY
from bot.campaigns.lifecycle import spec_of
from bot.runtime import Runtime
from bot.scripts import canned, outcomes
from storage import conversations, messages
from storage.models import Campaign


@dataclass(frozen=True, slots=True)
class Taken:
    conversation_id: int
    outcome: str
    # The outcome needs the replacement modal: the caller opens it, and the
    # outcome is recorded when the modal is submitted.
    needs_details: bool = False


async def _suggested(rt: Runtime, user: str, message_id: int) -> tuple[int, str]:
    async with rt.db.sessions() as session:
        message = await messages.get(session, message_id)
        conversation = (
            await conversations.get(session, message.conversation_id) if message else None
        )
        newest = (
            await messages.latest_inbound_id(session, conversation.id) if conversation else None
        )
    if message is None or conversation is None or not message.suggestion:
        raise outcomes.OutcomeError("That suggestion is no longer there.")
    if conversation.owner_id != user:
        raise outcomes.OutcomeError("That member is not in your conversations.")
    if newest != message.id:
        raise outcomes.OutcomeError(
            "The member has texted again since that suggestion: read their latest reply first."
        )
    return conversation.id, message.suggestion


async def _stamp(rt: Runtime, message_id: int) -> None:
    async with rt.db.transaction() as session:
        message = await messages.get(session, message_id)
        if message is not None and message.suggestion_taken_at is None:
            message.suggestion_taken_at = rt.now()


async def take_outcome(rt: Runtime, user: str, message_id: int) -> Taken:
    """Record the suggested outcome (or opt the member out, after Slack's confirmation)."""
    conversation_id, key = await _suggested(rt, user, message_id)
    if key == OPT_OUT_KEY:
        await outcomes.opt_out(rt, user, conversation_id)
    elif await outcomes.needs_details(rt, user, conversation_id, key):
        # Counted as taken when the details are sent (`details_sent`), not on this click.
        return Taken(conversation_id, key, needs_details=True)
    else:
        await outcomes.record(rt, user, conversation_id, key)
    await _stamp(rt, message_id)
    return Taken(conversation_id, key)


async def details_sent(rt: Runtime, conversation_id: int, key: str) -> None:
    """A replacement modal was sent: if the member's latest text suggested it, it was taken."""
    async with rt.db.transaction() as session:
        newest = await messages.latest_inbound_id(session, conversation_id)
        message = await messages.get(session, newest) if newest is not None else None
        if message is not None and message.suggestion == key and not message.suggestion_taken_at:
            message.suggestion_taken_at = rt.now()


async def take_script(rt: Runtime, user: str, message_id: int) -> bool:
    """Send the script that goes with the suggested outcome; False if it was already sent."""
    conversation_id, key = await _suggested(rt, user, message_id)
    async with rt.db.sessions() as session:
        conversation = await conversations.get(session, conversation_id)
        campaign = (
            await session.get(Campaign, conversation.campaign_id)
            if conversation and conversation.campaign_id
            else None
        )
    if campaign is None:
        raise canned.ScriptError("Scripts belong to a campaign, and this number is not in one.")
    outcome = outcomes.find_outcome(spec_of(campaign), key)
    if outcome.script is None:
        raise canned.ScriptError("That outcome has no script to send.")
    rendered = await canned.render(rt, user, conversation_id, outcome.script)
    sent = await canned.send_text(
        rt, user, conversation_id, rendered.text, key=f"suggested:{message_id}"
    )
    await _stamp(rt, message_id)
    return sent

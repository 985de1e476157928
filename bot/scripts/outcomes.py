"""Recording what a member said: outcomes, opt-out, replacement-ballot requests.

An outcome can be changed; every change is kept (who, when, from what), so
the union can see how a figure came about. An outcome marked `closes` (and
"wrong number") closes the conversation, which also keeps the member out of
later rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge import consent
from bot.bridge.card_actions import OPT_OUT_KEY
from bot.campaigns.campaign_file import CampaignSpec, Outcome
from bot.campaigns.lifecycle import spec_of
from bot.campaigns.roles import Role, role_of
from bot.intents import Kind
from bot.runtime import Runtime
from storage import conversations, events, outbox
from storage.models import Campaign, Conversation, OutcomeEvent, ReplacementRequest

# Outcomes that end a conversation whatever the campaign file says.
ALWAYS_CLOSES = frozenset({"wrong_number", "not_member", "not_a_member", OPT_OUT_KEY})


class OutcomeError(Exception):
    """The outcome cannot be recorded; the message says why."""


@dataclass(frozen=True)
class Replacement:
    address_confirmed: bool
    new_address: str | None
    notes: str | None


async def _context(
    session: AsyncSession, rt: Runtime, user: str, conversation_id: int
) -> tuple[Conversation, Campaign, CampaignSpec]:
    conversation = await conversations.get(session, conversation_id)
    if conversation is None or conversation.campaign_id is None:
        raise OutcomeError("That conversation is not part of a campaign.")
    if conversation.owner_id != user and await role_of(session, rt, user) < Role.COORDINATOR:
        raise OutcomeError("Only the member's activist (or a coordinator) can record outcomes.")
    campaign = await session.get(Campaign, conversation.campaign_id)
    assert campaign is not None
    return conversation, campaign, spec_of(campaign)


def find_outcome(spec: CampaignSpec, key: str) -> Outcome:
    for outcome in spec.outcomes:
        if outcome.key == key:
            return outcome
    known = ", ".join(o.key for o in spec.outcomes) or "none"
    raise OutcomeError(f"The campaign has no outcome {key!r} (outcomes: {known}).")


async def needs_details(rt: Runtime, user: str, conversation_id: int, key: str) -> bool:
    """True if this outcome asks for replacement-ballot details first (a modal)."""
    async with rt.db.sessions() as session:
        _, _, spec = await _context(session, rt, user, conversation_id)
    return find_outcome(spec, key).replacement_request


async def record(
    rt: Runtime,
    user: str,
    conversation_id: int,
    key: str,
    *,
    replacement: Replacement | None = None,
) -> str:
    """Set the conversation's outcome; returns its label."""
    now = rt.now()
    async with rt.db.transaction() as session:
        conversation, campaign, spec = await _context(session, rt, user, conversation_id)
        outcome = find_outcome(spec, key)
        if outcome.replacement_request and replacement is None:
            raise OutcomeError("A replacement ballot needs the member's address details.")
        await _set(session, rt, conversation, key, user)
        if outcome.closes or key in ALWAYS_CLOSES:
            conversation.state = "closed"
        if replacement is not None:
            session.add(
                ReplacementRequest(
                    campaign_id=campaign.id,
                    conversation_id=conversation.id,
                    member_id=conversation.member_id,
                    address_confirmed=replacement.address_confirmed,
                    new_address=replacement.new_address,
                    notes=replacement.notes,
                    requested_by=user,
                    created_at=now,
                )
            )
            await outbox.enqueue(
                session,
                Kind.NOTE,
                now=now,
                conversation_id=conversation.id,
                payload={
                    "text": ":ballot_box_with_ballot: Replacement ballot requested; "
                    "an organiser will process it."
                },
            )
    rt.wake()
    return outcome.label


async def opt_out(rt: Runtime, user: str, conversation_id: int) -> None:
    """The opt-out button (after its confirmation): the member is never texted again."""
    async with rt.db.transaction() as session:
        conversation, _, _ = await _context(session, rt, user, conversation_id)
        await consent.opt_out(
            session, rt, conversation.phone, source="button", conversation=conversation, actor=user
        )
        await _set(session, rt, conversation, OPT_OUT_KEY, user)
        conversation.state = "closed"
    rt.wake()


async def _set(
    session: AsyncSession, rt: Runtime, conversation: Conversation, key: str, user: str
) -> None:
    now = rt.now()
    previous = conversation.outcome
    session.add(
        OutcomeEvent(
            conversation_id=conversation.id, outcome=key, previous=previous, user_id=user, at=now
        )
    )
    conversation.outcome = key
    conversation.updated_at = now
    await events.audit(
        session,
        actor=user,
        action="outcome",
        now=now,
        conversation_id=conversation.id,
        outcome=key,
        previous=previous,
    )
    await outbox.enqueue(session, Kind.CARD, now=now, conversation_id=conversation.id)
    if conversation.owner_id:
        await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": conversation.owner_id})

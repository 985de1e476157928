"""Handing out batches: assign, unassign, reassign, release.

A member belongs to at most one activist: taking one is a conditional
update of its conversation, or an insert guarded by the unique
(campaign, member) constraint, so concurrent assignments never share one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.lifecycle import resolve
from bot.campaigns.roles import Role, require
from bot.intents import Kind
from bot.runtime import Runtime
from storage import assignments, conversations, events, outbox
from storage.models import Campaign, Conversation

ROUNDS = 5  # fill-up rounds when another assignment took some of our picks


@dataclass(frozen=True)
class Assigned:
    campaign: str
    activist: str
    asked: int
    given: int
    left_in_pool: int


async def assign_batch(
    rt: Runtime,
    organiser: str,
    activist: str,
    count: int,
    *,
    branch: str | None = None,
    campaign: str | None = None,
) -> Assigned:
    if count <= 0:
        raise ValueError("say how many members to assign, e.g. /turnout assign @alice 50")
    now = rt.now()
    async with rt.db.transaction() as session:
        await require(session, rt, organiser, Role.ORGANISER)
        chosen = await resolve(session, campaign)
        if chosen.state == "closed":
            raise ValueError(f"campaign {chosen.slug} is closed")
        given = 0
        for _ in range(ROUNDS):
            picks = await assignments.free_members(
                session, chosen.id, branch=branch, limit=count - given
            )
            if not picks:
                break
            for member_id, phone, conversation_id in picks:
                taken = await assignments.take_member(
                    session,
                    campaign_id=chosen.id,
                    member_id=member_id,
                    phone=phone,
                    conversation_id=conversation_id,
                    owner_id=activist,
                    now=now,
                )
                given += taken is not None
            if given >= count:
                break
        left = await assignments.count_free(session, chosen.id, branch)
        await events.audit(
            session,
            actor=organiser,
            action="assign",
            now=now,
            activist=activist,
            campaign=chosen.slug,
            branch=branch,
            asked=count,
            given=given,
        )
        if given:
            await _tell(session, rt, activist, _assigned_note(chosen, given, organiser))
    rt.wake()
    return Assigned(chosen.slug, activist, count, given, left)


def _assigned_note(campaign: Campaign, given: int, organiser: str) -> str:
    return (
        f":wave: <@{organiser}> gave you {given} member{'s' if given != 1 else ''} to text "
        f"for *{campaign.name}*. Open the *Home* tab of this app and press *Send next* "
        "to start (or type `/turnout next`)."
    )


async def unassign(rt: Runtime, organiser: str, activist: str, *, unsent_only: bool = True) -> int:
    """Give an activist's members back to the pool; returns how many."""
    now = rt.now()
    async with rt.db.transaction() as session:
        await require(session, rt, organiser, Role.ORGANISER)
        owned = await assignments.owned(session, activist, unsent_only=unsent_only)
        for conversation in owned:
            conversation.owner_id = None
            conversation.updated_at = now
        await events.audit(
            session,
            actor=organiser,
            action="unassign",
            now=now,
            activist=activist,
            unsent_only=unsent_only,
            count=len(owned),
        )
        if owned:
            which = "unsent members" if unsent_only else "members"
            await _tell(session, rt, activist, f"<@{organiser}> took back {len(owned)} {which}.")
    rt.wake()
    return len(owned)


async def reassign(rt: Runtime, organiser: str, source: str, target: str) -> int:
    """Move every conversation of `source` to `target`; texted ones open in target's DM."""
    if source == target:
        raise ValueError("reassign needs two different people")
    now = rt.now()
    async with rt.db.transaction() as session:
        await require(session, rt, organiser, Role.ORGANISER)
        owned = await assignments.owned(session, source)
        for conversation in owned:
            conversation.owner_id = target
            conversation.updated_at = now
            if conversation.initial_sent_at is not None or conversation.last_inbound_at:
                await outbox.enqueue(
                    session, Kind.OPEN_THREAD, now=now, conversation_id=conversation.id
                )
        await events.audit(
            session,
            actor=organiser,
            action="reassign",
            now=now,
            source=source,
            target=target,
            count=len(owned),
        )
        if owned:
            await _tell(
                session,
                rt,
                target,
                f"<@{organiser}> passed you {len(owned)} "
                f"conversations from <@{source}>. They are in your Home tab and DM.",
            )
            await _tell(
                session,
                rt,
                source,
                f"<@{organiser}> passed your {len(owned)} conversations to <@{target}>.",
            )
    rt.wake()
    return len(owned)


async def release(rt: Runtime, user: str, conversation_id: int) -> bool:
    """The owner (or an organiser) gives one member back; their replies go to support."""
    now = rt.now()
    async with rt.db.transaction() as session:
        conversation = await conversations.get(session, conversation_id)
        if conversation is None or conversation.owner_id is None:
            return False
        if conversation.owner_id != user:
            await require(session, rt, user, Role.ORGANISER)
        campaign = await session.get(Campaign, conversation.campaign_id or 0)
        if campaign is not None and campaign.practice:
            await _note_in_thread(
                session,
                conversation,
                "A practice member stays with you: nobody else answers simulated "
                "members. `/turnout practice end` clears your batch.",
                now,
            )
            rt.wake()
            return False
        owner = conversation.owner_id
        conversation.owner_id = None
        conversation.updated_at = now
        await events.audit(
            session,
            actor=user,
            action="release",
            now=now,
            conversation_id=conversation_id,
            owner=owner,
        )
        await _note_in_thread(
            session,
            conversation,
            "Released: replies from this member now go to the support channel.",
            now,
        )
        await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": owner})
    rt.wake()
    return True


async def _note_in_thread(
    session: AsyncSession, conversation: Conversation, text: str, now: datetime
) -> None:
    await outbox.enqueue(
        session,
        Kind.NOTE,
        now=now,
        conversation_id=conversation.id,
        payload={
            "text": text,
            "channel": conversation.dm_channel,
            "thread_ts": conversation.thread_ts,
        },
    )


async def _tell(session: object, rt: Runtime, user: str, text: str) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    now = rt.now()
    await outbox.enqueue(session, Kind.DM, now=now, payload={"user": user, "text": text})
    await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": user})


async def take_over(rt: Runtime, actor: str, conversation_id: int, new_owner: str) -> str:
    """An escalated conversation changes hands: Claim (to oneself) or Reassign (coordinators)."""
    from bot.campaigns import gate

    now = rt.now()
    async with rt.db.transaction() as session:
        conversation = await conversations.get(session, conversation_id)
        if conversation is None:
            return "That conversation no longer exists."
        if new_owner != actor:
            await require(session, rt, actor, Role.COORDINATOR)
        if not await gate.may_see(session, new_owner, conversation.campaign_id):
            return (
                f"<@{new_owner}> has not agreed to the data-protection terms yet, "
                "so the conversation stays where it is."
            )
        previous = conversation.owner_id
        if previous == new_owner:
            return f"<@{new_owner}> already has this conversation."
        conversation.owner_id = new_owner
        conversation.updated_at = now
        await outbox.enqueue(session, Kind.OPEN_THREAD, now=now, conversation_id=conversation.id)
        await events.audit(
            session,
            actor=actor,
            action="take_over",
            now=now,
            conversation_id=conversation.id,
            previous=previous,
            owner=new_owner,
        )
        if previous:
            await _tell(
                session,
                rt,
                previous,
                f"<@{actor}> passed one of your waiting conversations to <@{new_owner}>.",
            )
    rt.wake()
    return f"<@{new_owner}> now has the conversation; it opened in their DM."

"""Queries for practice mode: simulated phones' events, practice batches.

Simulated phones keep their state here, not in a process, so a restart (or
a second instance) carries on with the same pending replies and reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Agreement,
    AuditEntry,
    Campaign,
    Conversation,
    Member,
    OptOut,
    SimulatedEvent,
)

TEXT, STATUS, REPLY = "text", "status", "reply"
PRACTICE_LOCK = 7700900  # the advisory lock key for handing out practice batches


async def add_event(session: AsyncSession, event: SimulatedEvent) -> SimulatedEvent:
    session.add(event)
    await session.flush()
    return event


async def texts_received(session: AsyncSession, phone: str) -> int:
    """How many texts the simulated phone `phone` has been sent."""
    result = await session.execute(
        select(func.count())
        .select_from(SimulatedEvent)
        .where(SimulatedEvent.phone == phone, SimulatedEvent.kind == TEXT)
    )
    return int(result.scalar_one())


async def has_texted_stop(session: AsyncSession, phone: str) -> bool:
    """True once `phone` has sent a reply of STOP (as Twilio then blocks the number)."""
    result = await session.execute(
        select(SimulatedEvent.id)
        .where(
            SimulatedEvent.phone == phone,
            SimulatedEvent.kind == REPLY,
            SimulatedEvent.done_at.is_not(None),
            func.upper(func.trim(SimulatedEvent.body)) == "STOP",
        )
        .limit(1)
    )
    return result.first() is not None


async def texts_to(
    session: AsyncSession, phone: str, body: str, since: datetime
) -> Sequence[SimulatedEvent]:
    """Texts `phone` got with this body since `since`, newest first (a lookup)."""
    result = await session.execute(
        select(SimulatedEvent)
        .where(
            SimulatedEvent.phone == phone,
            SimulatedEvent.kind == TEXT,
            SimulatedEvent.body == body,
            SimulatedEvent.created_at >= since,
        )
        .order_by(SimulatedEvent.id.desc())
    )
    return result.scalars().all()


async def text_by_sid(session: AsyncSession, sid: str) -> SimulatedEvent | None:
    result = await session.execute(
        select(SimulatedEvent).where(SimulatedEvent.kind == TEXT, SimulatedEvent.sid == sid)
    )
    return result.scalar_one_or_none()


async def due_event_ids(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    result = await session.execute(
        select(SimulatedEvent.id)
        .where(SimulatedEvent.done_at.is_(None), SimulatedEvent.due_at <= now)
        .order_by(SimulatedEvent.due_at, SimulatedEvent.id)
        .limit(limit)
    )
    return list(result.scalars())


async def take_event(
    session: AsyncSession, event_id: int, now: datetime, lease: timedelta
) -> SimulatedEvent | None:
    """Claim a due event for this worker; None if another has it (or it is done)."""
    result = await session.execute(
        update(SimulatedEvent)
        .where(
            SimulatedEvent.id == event_id,
            SimulatedEvent.done_at.is_(None),
            or_(SimulatedEvent.claimed_at.is_(None), SimulatedEvent.claimed_at < now - lease),
        )
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await session.get(SimulatedEvent, event_id)


async def next_due(session: AsyncSession) -> datetime | None:
    result = await session.execute(
        select(func.min(SimulatedEvent.due_at)).where(SimulatedEvent.done_at.is_(None))
    )
    return result.scalar_one_or_none()


async def add_member(session: AsyncSession, member: Member) -> Member:
    session.add(member)
    await session.flush()
    return member


async def forget_agreement(session: AsyncSession, user_id: str, campaign_id: int) -> None:
    """A new practice batch asks its trainee to agree to the terms again."""
    await session.execute(
        delete(Agreement).where(Agreement.user_id == user_id, Agreement.campaign_id == campaign_id)
    )


async def lock_batches(session: AsyncSession) -> None:
    """Hold the right to hand out practice batches until the transaction ends.

    Simulated numbers are shared by every practice campaign, so two trainees
    starting at once (in any campaigns, on any instance) must take turns. On
    SQLite the transaction's BEGIN IMMEDIATE already serialises writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(PRACTICE_LOCK)))


async def batches_started(session: AsyncSession) -> int:
    """How many practice batches were ever started (to rotate the parts handed out)."""
    result = await session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "practice_start")
    )
    return int(result.scalar_one())


async def practice_for(session: AsyncSession, live_slug: str) -> Campaign | None:
    """The practice copy of `live_slug` that is still in use (not closed)."""
    result = await session.execute(
        select(Campaign).where(
            Campaign.practice.is_(True),
            Campaign.practice_of == live_slug,
            Campaign.state != "closed",
        )
    )
    return result.scalars().first()


async def phones_in_use(session: AsyncSession) -> set[str]:
    """Every phone number a practice campaign's members hold now."""
    result = await session.execute(
        select(Member.phone)
        .join(Campaign, Campaign.id == Member.campaign_id)
        .where(Campaign.practice.is_(True))
    )
    return set(result.scalars())


async def batch_of(
    session: AsyncSession, user_id: str, *, open_only: bool = True
) -> Sequence[Conversation]:
    """The practice conversations `user_id` holds: in open practice campaigns, or in all."""
    query = (
        select(Conversation)
        .join(Campaign, Campaign.id == Conversation.campaign_id)
        .where(Campaign.practice.is_(True), Conversation.owner_id == user_id)
        .order_by(Conversation.id)
    )
    if open_only:
        query = query.where(Campaign.state != "closed")
    return (await session.execute(query)).scalars().all()


async def clear(
    session: AsyncSession, conversations: Sequence[Conversation], simulated: Sequence[str]
) -> None:
    """Delete practice conversations with their members, and `simulated` phones' events
    and opt-outs (the caller passes only numbers of the simulated range, so no real
    opt-out is ever removed).

    The rows that hang off a conversation (messages, threads, outcomes,
    replacement requests, Slack deliveries) go with it by cascade.
    """
    members = [c.member_id for c in conversations if c.member_id is not None]
    ids = [c.id for c in conversations]
    await session.execute(delete(SimulatedEvent).where(SimulatedEvent.phone.in_(simulated)))
    await session.execute(delete(OptOut).where(OptOut.phone.in_(simulated)))
    await session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    await session.execute(delete(Member).where(Member.id.in_(members)))

"""Queries behind the sweeps: waiting replies, idle queues, follow-up rounds, leases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Conversation,
    FollowupRound,
    Message,
    OptOut,
    SlackUser,
    SweepLease,
)
from storage.types import aware_utc


async def waiting_replies(
    session: AsyncSession, *, before: datetime, mark: str
) -> Sequence[tuple[Message, Conversation]]:
    """A member's latest text, unanswered since `before` or earlier, not yet `mark`ed.

    `mark` is "nudged_at" or "escalated_at": each happens once per text.
    """
    column = getattr(Message, mark)
    result = await session.execute(
        select(Message, Conversation)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.direction == "in",
            Message.created_at <= before,
            Message.created_at == Conversation.last_inbound_at,
            column.is_(None),
            Conversation.owner_id.is_not(None),
            Conversation.state == "open",
            or_(
                Conversation.last_outbound_at.is_(None),
                Conversation.last_outbound_at < Message.created_at,
            ),
        )
        .order_by(Message.id)
    )
    return [(m, c) for m, c in result.all()]


async def idle_activists(
    session: AsyncSession, *, since: datetime
) -> Sequence[tuple[str, int, int]]:
    """(activist, campaign id, members left) for queues untouched since `since`.

    Touched means a text sent or a batch assigned; an activist nudged since
    `since` is left alone (one nudge a day).
    """
    queued = and_(
        Conversation.assigned_at.is_not(None),
        Conversation.initial_sent_at.is_(None),
        Conversation.last_outbound_at.is_(None),
        Conversation.skipped_reason.is_(None),
        Conversation.state == "open",
    )
    latest = func.max(
        func.coalesce(
            Conversation.last_outbound_at, Conversation.initial_sent_at, Conversation.assigned_at
        )
    )
    result = await session.execute(
        select(Conversation.owner_id, Conversation.campaign_id, func.count().filter(queued), latest)
        .where(Conversation.owner_id.is_not(None), Conversation.campaign_id.is_not(None))
        .group_by(Conversation.owner_id, Conversation.campaign_id)
    )
    idle = []
    for owner, campaign_id, left, last in result.all():
        touched = aware_utc(last)
        if not left or (touched is not None and touched > since):
            continue
        user = await session.get(SlackUser, owner)
        if user is not None and user.queue_nudged_at and user.queue_nudged_at > since:
            continue
        idle.append((str(owner), int(campaign_id or 0), int(left)))
    return idle


async def round_ran(session: AsyncSession, campaign_id: int, round_no: int) -> bool:
    found = await session.execute(
        select(FollowupRound.id).where(
            FollowupRound.campaign_id == campaign_id, FollowupRound.round == round_no
        )
    )
    return found.first() is not None


async def followup_candidates(
    session: AsyncSession, campaign_id: int, unless: Sequence[str]
) -> Sequence[Conversation]:
    """Texted, open, owned conversations whose outcome is not in `unless`."""
    opted_out = exists().where(OptOut.phone == Conversation.phone)
    query = select(Conversation).where(
        Conversation.campaign_id == campaign_id,
        Conversation.owner_id.is_not(None),
        Conversation.state == "open",
        Conversation.initial_sent_at.is_not(None),
        ~opted_out,
    )
    if unless:
        query = query.where(
            or_(Conversation.outcome.is_(None), Conversation.outcome.not_in(list(unless)))
        )
    return (await session.execute(query.order_by(Conversation.id))).scalars().all()


async def stale_sent(
    session: AsyncSession, *, before: datetime, limit: int = 200
) -> Sequence[Message]:
    """Texts Twilio took but whose final state never came back (a lost callback)."""
    result = await session.execute(
        select(Message)
        .where(
            Message.direction == "out",
            Message.twilio_sid.is_not(None),
            Message.status.in_(("accepted", "queued", "scheduled", "sending", "sent")),
            Message.updated_at <= before,
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return result.scalars().all()


async def take_lease(
    session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Hold sweep `name` until now + ttl, unless another holder's lease is still live."""
    result = await session.execute(
        update(SweepLease)
        .where(SweepLease.name == name, or_(SweepLease.until <= now, SweepLease.holder == holder))
        .values(holder=holder, until=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    if await session.get(SweepLease, name) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(SweepLease(name=name, holder=holder, until=now + ttl))
    except IntegrityError:
        return False
    return True


async def drop_lease(session: AsyncSession, name: str, holder: str) -> None:
    await session.execute(
        update(SweepLease)
        .where(SweepLease.name == name, SweepLease.holder == holder)
        .values(until=datetime(1970, 1, 1, tzinfo=UTC))
        .execution_options(synchronize_session=False)
    )

"""Queries behind assignment and the activist's queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign, Conversation, Member, OptOut


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _textable(campaign_id: int, branch: str | None):  # type: ignore[no-untyped-def]
    """Members of the campaign nobody holds, not opted out, not closed or skipped."""
    opted_out = exists().where(OptOut.phone == Member.phone)
    free = or_(
        Conversation.id.is_(None),
        and_(
            Conversation.owner_id.is_(None),
            Conversation.state == "open",
            Conversation.skipped_reason.is_(None),
        ),
    )
    query = (
        select(Member.id, Member.phone, Conversation.id)
        .outerjoin(
            Conversation,
            and_(Conversation.member_id == Member.id, Conversation.campaign_id == campaign_id),
        )
        .where(Member.campaign_id == campaign_id, free, ~opted_out)
    )
    if branch is not None:
        query = query.where(func.lower(Member.branch) == branch.lower())
    return query


def _queued() -> ColumnElement[bool]:
    """Assigned members still waiting for their first text.

    A conversation that began otherwise (the member texted in, someone
    claimed it, the activist already wrote) is never sent the initial script.
    """
    return and_(
        Conversation.assigned_at.is_not(None),
        Conversation.state == "open",
        Conversation.initial_sent_at.is_(None),
        Conversation.last_outbound_at.is_(None),
        Conversation.skipped_reason.is_(None),
        Conversation.member_id.is_not(None),
    )


def _followup_queued() -> ColumnElement[bool]:
    """Members a follow-up round put back in the queue."""
    return and_(Conversation.state == "open", Conversation.followup_script.is_not(None))


async def free_members(
    session: AsyncSession, campaign_id: int, *, branch: str | None, limit: int
) -> list[tuple[int, str, int | None]]:
    """(member id, phone, existing conversation id) of up to `limit` free members.

    On PostgreSQL the member rows are locked with SKIP LOCKED, so a second
    assignment running at the same moment takes different members instead
    of waiting for (and then colliding with) these.
    """
    query = _textable(campaign_id, branch).order_by(Member.id).limit(limit)
    if _dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Member)
    result = await session.execute(query)
    return [(m, p, c) for m, p, c in result.all()]


async def count_free(session: AsyncSession, campaign_id: int, branch: str | None) -> int:
    sub = _textable(campaign_id, branch).subquery()
    return int((await session.execute(select(func.count()).select_from(sub))).scalar_one())


async def take_member(
    session: AsyncSession,
    *,
    campaign_id: int,
    member_id: int,
    phone: str,
    conversation_id: int | None,
    owner_id: str,
    now: datetime,
) -> int | None:
    """Give one member to `owner_id`; the conversation id, or None if someone was quicker."""
    if conversation_id is not None:
        result = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.owner_id.is_(None))
            .values(owner_id=owner_id, assigned_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return conversation_id if result.rowcount else None  # type: ignore[attr-defined]
    dialect = postgresql if _dialect(session) == "postgresql" else sqlite
    insert = (
        dialect.insert(Conversation)
        .values(
            phone=phone,
            campaign_id=campaign_id,
            member_id=member_id,
            owner_id=owner_id,
            state="open",
            assigned_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "member_id"])
        .returning(Conversation.id)
    )
    return (await session.execute(insert)).scalar_one_or_none()


async def owned(
    session: AsyncSession,
    owner_id: str,
    *,
    unsent_only: bool = False,
    with_practice: bool = False,
) -> Sequence[Conversation]:
    """An activist's conversations; practice ones only `with_practice` (they are not
    an organiser's to move: the trainee ends them)."""
    query = select(Conversation).where(Conversation.owner_id == owner_id)
    if not with_practice:
        practice = select(Campaign.id).where(Campaign.practice.is_(True))
        query = query.where(
            or_(Conversation.campaign_id.is_(None), Conversation.campaign_id.not_in(practice))
        )
    if unsent_only:
        query = query.where(Conversation.initial_sent_at.is_(None))
    return (await session.execute(query.order_by(Conversation.id))).scalars().all()


async def next_in_queue(
    session: AsyncSession, owner_id: str, campaign_id: int | None = None, *, practice: bool = False
) -> Conversation | None:
    """The next member to text: first texts before follow-ups, oldest first.

    In `campaign_id`, else in the live campaigns (the practice ones with `practice`).
    """
    in_practice = Conversation.campaign_id.in_(
        select(Campaign.id).where(Campaign.practice.is_(True))
    )
    for waiting in (_queued(), _followup_queued()):
        query = select(Conversation).where(Conversation.owner_id == owner_id, waiting)
        if campaign_id is not None:
            query = query.where(Conversation.campaign_id == campaign_id)
        else:
            query = query.where(in_practice if practice else ~in_practice)
        found = (
            await session.execute(query.order_by(Conversation.id).limit(1))
        ).scalar_one_or_none()
        if found is not None:
            return found
    return None


async def queue_counts(session: AsyncSession, owner_id: str) -> dict[int, dict[str, int]]:
    """Per campaign: members left to text, texted, replies waiting."""
    waiting = and_(
        Conversation.last_inbound_at.is_not(None),
        or_(
            Conversation.last_outbound_at.is_(None),
            Conversation.last_inbound_at > Conversation.last_outbound_at,
        ),
    )
    unsent = or_(_queued(), _followup_queued())
    result = await session.execute(
        select(
            Conversation.campaign_id,
            func.count().filter(unsent),
            func.count().filter(Conversation.initial_sent_at.is_not(None)),
            func.count().filter(waiting),
            func.count().filter(_followup_queued()),
        )
        .where(Conversation.owner_id == owner_id, Conversation.campaign_id.is_not(None))
        .group_by(Conversation.campaign_id)
    )
    return {
        int(c or 0): {
            "left": int(left),
            "texted": int(texted),
            "waiting": int(w),
            "followups": int(f),
        }
        for c, left, texted, w, f in result.all()
    }


async def outcome_counts(session: AsyncSession, owner_id: str) -> dict[int, dict[str, int]]:
    """Per campaign, how many of the owner's conversations have each outcome."""
    result = await session.execute(
        select(Conversation.campaign_id, Conversation.outcome, func.count())
        .where(
            Conversation.owner_id == owner_id,
            Conversation.campaign_id.is_not(None),
            Conversation.outcome.is_not(None),
        )
        .group_by(Conversation.campaign_id, Conversation.outcome)
    )
    counts: dict[int, dict[str, int]] = {}
    for campaign_id, outcome, n in result.all():
        counts.setdefault(int(campaign_id or 0), {})[str(outcome)] = int(n)
    return counts

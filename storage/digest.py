"""Queries for the daily digest: confirmed turnout, replacement ballots, digests posted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Conversation, Member, ReplacementRequest, SlackDelivery

DIGEST_ACTION: Final = "digest"
VOTED: Final = "voted"


@dataclass(frozen=True, slots=True)
class Turnout:
    """Members of a branch, and how many of them are confirmed to have voted."""

    members: int
    voted: int

    @property
    def rate(self) -> float:
        return self.voted / self.members if self.members else 0.0


@dataclass(frozen=True, slots=True)
class Replacements:
    open: int
    processed: int


async def turnout_by_branch(
    session: AsyncSession, campaign_id: int, *, outcome: str = VOTED
) -> dict[str, Turnout]:
    """Confirmed turnout per branch: members whose conversation has `outcome`.

    Every member counts in the denominator, texted or not; the key "" holds
    members with no branch.
    """
    result = await session.execute(
        select(
            Member.branch,
            func.count(Member.id),
            func.count(case((Conversation.outcome == outcome, Member.id))),
        )
        .outerjoin(
            Conversation,
            and_(Conversation.member_id == Member.id, Conversation.campaign_id == campaign_id),
        )
        .where(Member.campaign_id == campaign_id)
        .group_by(Member.branch)
    )
    per_branch: dict[str, Turnout] = {}
    for branch, members, voted in result.all():
        # Branch "" and NULL are both "no branch"; fold them together.
        key = branch or ""
        before = per_branch.get(key, Turnout(0, 0))
        per_branch[key] = Turnout(before.members + int(members), before.voted + int(voted))
    return per_branch


async def replacement_counts(session: AsyncSession, campaign_id: int) -> Replacements:
    """Replacement-ballot requests still to act on, and those marked processed."""
    result = await session.execute(
        select(
            func.count(case((ReplacementRequest.processed_at.is_(None), ReplacementRequest.id))),
            func.count(ReplacementRequest.processed_at),
        ).where(ReplacementRequest.campaign_id == campaign_id)
    )
    still_open, processed = result.one()
    return Replacements(open=int(still_open), processed=int(processed))


async def digest_posted(
    session: AsyncSession, campaign_id: int, day: date, *, day_starts: datetime
) -> bool:
    """Whether the digest of `campaign_id` for local date `day` was already queued.

    `day_starts` is the start of `day` in the campaign's zone: an entry for
    `day` can be no older, so the scan stays within a day or so of the log.
    """
    result = await session.execute(
        select(AuditEntry.detail).where(
            AuditEntry.action == DIGEST_ACTION, AuditEntry.at >= day_starts
        )
    )
    wanted = {"campaign_id": campaign_id, "date": day.isoformat()}
    return any(all(detail.get(k) == v for k, v in wanted.items()) for detail in result.scalars())


async def record_digest(
    session: AsyncSession, campaign_id: int, day: date, *, now: datetime, delivery_id: int
) -> None:
    """Write down that the digest for `day` was queued (see `digest_posted`)."""
    session.add(
        AuditEntry(
            at=now,
            actor="sweep",
            action=DIGEST_ACTION,
            detail={"campaign_id": campaign_id, "date": day.isoformat(), "delivery": delivery_id},
        )
    )
    await session.flush()


async def mark_chart_uploaded(session: AsyncSession, delivery_id: int, file_id: str) -> None:
    """Keep the uploaded chart's file id on its delivery, so a retry does not upload twice."""
    delivery = await session.get(SlackDelivery, delivery_id)
    if delivery is not None:
        delivery.payload = {**delivery.payload, "chart_file": file_id}
        await session.flush()

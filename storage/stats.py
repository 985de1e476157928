"""Aggregate figures for a campaign, overall and per branch."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, Member, Message, OptOut

SENT = ("queued", "accepted", "sending", "sent", "delivered", "read", "failed", "undelivered")


@dataclass
class Figures:
    members: int = 0
    texted: int = 0
    texts_sent: int = 0
    delivered: int = 0
    failed: int = 0
    replies: int = 0
    replied: int = 0
    opted_out: int = 0

    @property
    def response_rate(self) -> float:
        return self.replied / self.texted if self.texted else 0.0


async def campaign_figures(session: AsyncSession, campaign_id: int) -> dict[str, Figures]:
    """Figures per branch; the key "" holds members with no branch."""
    per_branch: dict[str, Figures] = {}

    members = await session.execute(
        select(
            Member.branch,
            func.count(distinct(Member.id)),
            func.count(distinct(OptOut.phone)),
        )
        .outerjoin(OptOut, OptOut.phone == Member.phone)
        .where(Member.campaign_id == campaign_id)
        .group_by(Member.branch)
    )
    for branch, count, opted in members.all():
        per_branch[branch or ""] = Figures(members=int(count), opted_out=int(opted))

    out, inbound = Message.direction == "out", Message.direction == "in"
    delivered = and_(out, Message.status.in_(("delivered", "read")))
    failed = and_(out, Message.status.in_(("failed", "undelivered")))
    texts = await session.execute(
        select(
            Member.branch,
            func.count(
                distinct(case((Conversation.initial_sent_at.is_not(None), Conversation.id)))
            ),
            func.count(case((and_(out, Message.status.in_(SENT)), Message.id))),
            func.count(case((delivered, Message.id))),
            func.count(case((failed, Message.id))),
            func.count(case((inbound, Message.id))),
            func.count(distinct(case((inbound, Conversation.id)))),
        )
        .select_from(Conversation)
        .join(Member, Member.id == Conversation.member_id)
        .outerjoin(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.campaign_id == campaign_id)
        .group_by(Member.branch)
    )
    for branch, *counts in texts.all():
        figures = per_branch.setdefault(branch or "", Figures())
        figures.texted, figures.texts_sent, figures.delivered = map(int, counts[:3])
        figures.failed, figures.replies, figures.replied = map(int, counts[3:])
    return per_branch


async def suggestion_figures(session: AsyncSession, campaign_id: int) -> tuple[int, int]:
    """How many members' texts carried a reply suggestion, and how many of those were taken."""
    row = (
        await session.execute(
            select(func.count(Message.id), func.count(Message.suggestion_taken_at))
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.campaign_id == campaign_id, Message.suggestion.is_not(None))
        )
    ).one()
    return int(row[0]), int(row[1])


def total(per_branch: dict[str, Figures]) -> Figures:
    overall = Figures()
    for f in per_branch.values():
        for name in vars(overall):
            setattr(overall, name, getattr(overall, name) + getattr(f, name))
    return overall

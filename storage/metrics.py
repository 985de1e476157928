"""What `/metrics` reads from the database at each scrape: the queues as they stand.

Read from the rows, not from a process, so every instance reports the same
depth for a shared database, and a restarted one reports the truth at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, Message, SlackDelivery
from storage.types import aware_utc

WAITING_SMS = ("pending", "submitting", "unknown")
WAITING_SLACK = ("pending", "sending", "held")


@dataclass(frozen=True)
class Queue:
    outbox: str  # "sms" or "slack"
    kind: str
    depth: int
    oldest: datetime


async def queues(session: AsyncSession) -> list[Queue]:
    """Rows waiting in each outbox, by kind, with the oldest one's age."""
    found: list[Queue] = []
    slack = await session.execute(
        select(SlackDelivery.kind, func.count(), func.min(SlackDelivery.created_at))
        .where(SlackDelivery.status.in_(WAITING_SLACK))
        .group_by(SlackDelivery.kind)
    )
    sms = await session.execute(
        select(Message.kind, func.count(), func.min(Message.created_at))
        .where(Message.direction == "out", Message.status.in_(WAITING_SMS))
        .group_by(Message.kind)
    )
    for outbox, rows in (("slack", slack), ("sms", sms)):
        for kind, depth, oldest in rows.all():
            since = aware_utc(oldest)
            assert since is not None  # a group has at least one row
            found.append(Queue(outbox, str(kind), int(depth), since))
    return found


async def replies_waiting(session: AsyncSession) -> int:
    """Open, owned conversations whose member texted last (an answer is owed)."""
    result = await session.execute(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.state == "open",
            Conversation.owner_id.is_not(None),
            and_(
                Conversation.last_inbound_at.is_not(None),
                or_(
                    Conversation.last_outbound_at.is_(None),
                    Conversation.last_inbound_at > Conversation.last_outbound_at,
                ),
            ),
        )
    )
    return int(result.scalar_one())

"""Queries on SMS messages; outbound rows double as the SMS outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Message
from storage.types import aware_utc

# Twilio's message states in the order they happen. A callback may only move
# a message forward: a late "sent" never overwrites "delivered".
# "pending", "submitting" and "unknown" are Turnout's own states before
# Twilio has acknowledged the message; they rank below all of Twilio's.
STATUS_RANK = {
    "pending": 0,
    "submitting": 0,
    "unknown": 0,
    "queued": 1,
    "accepted": 1,
    "scheduled": 1,
    "sending": 2,
    "sent": 3,
    "failed": 4,
    "undelivered": 4,
    "delivered": 4,
    "blocked": 4,
    "read": 5,
}
FINAL = frozenset({"failed", "undelivered", "delivered", "blocked", "read"})


async def get(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def set_shown(
    session: AsyncSession, message_id: int, *, channel: str, ts: str, suggestion: str | None
) -> None:
    """Where a member's text was posted in Slack, and the outcome suggested with it."""
    await session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(slack_channel=channel, slack_ts=ts, suggestion=suggestion)
        .execution_options(synchronize_session=False)
    )


async def by_sid(session: AsyncSession, sid: str) -> Message | None:
    result = await session.execute(select(Message).where(Message.twilio_sid == sid))
    return result.scalar_one_or_none()


async def stored_sids(session: AsyncSession, sids: list[str]) -> set[str]:
    """Which of `sids` are stored already (one query for a whole batch)."""
    result = await session.execute(select(Message.twilio_sid).where(Message.twilio_sid.in_(sids)))
    return {sid for sid in result.scalars() if sid is not None}


async def by_key(session: AsyncSession, key: str) -> Message | None:
    result = await session.execute(select(Message).where(Message.idempotency_key == key))
    return result.scalar_one_or_none()


async def by_slack_ts(session: AsyncSession, channel: str, ts: str) -> Message | None:
    result = await session.execute(
        select(Message).where(Message.slack_channel == channel, Message.slack_ts == ts)
    )
    return result.scalar_one_or_none()


async def history(session: AsyncSession, conversation_id: int) -> Sequence[Message]:
    result = await session.execute(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.created_at, Message.id)
    )
    return result.scalars().all()


async def latest_inbound_id(session: AsyncSession, conversation_id: int) -> int | None:
    """The member's newest text in a conversation."""
    found = await session.execute(
        select(func.max(Message.id)).where(
            Message.conversation_id == conversation_id, Message.direction == "in"
        )
    )
    return found.scalar_one_or_none()


async def add(session: AsyncSession, message: Message) -> Message:
    session.add(message)
    await session.flush()
    return message


UNSETTLED = ("pending", "submitting", "unknown")


async def due_outbound_ids(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """Pending texts whose time has come, oldest first, one per conversation.

    A text waits while an earlier one to the same member is unsettled, so a
    member reads an activist's replies in the order they were written.
    """
    earlier = aliased(Message)
    blocked = exists().where(
        earlier.conversation_id == Message.conversation_id,
        earlier.direction == "out",
        earlier.id < Message.id,
        earlier.status.in_(UNSETTLED),
    )
    result = await session.execute(
        select(Message.id)
        .where(
            Message.direction == "out",
            Message.status == "pending",
            Message.twilio_sid.is_(None),
            or_(Message.not_before.is_(None), Message.not_before <= now),
            ~blocked,
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return list(result.scalars())


async def take_for_sending(session: AsyncSession, message_id: int, now: datetime) -> bool:
    """Move one pending text to "submitting"; only one worker can ever win it."""
    result = await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == "pending", Message.twilio_sid.is_(None))
        .values(status="submitting", claimed_at=now, updated_at=now, attempts=Message.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def fate_unknown(
    session: AsyncSession, now: datetime, grace: timedelta, lease: timedelta, limit: int = 100
) -> Sequence[Message]:
    """Texts whose send may or may not have reached Twilio.

    "unknown" rows (a timeout after the request left) once `grace` has passed,
    and "submitting" rows whose worker has held them past `lease` (it crashed).
    """
    result = await session.execute(
        select(Message)
        .where(
            Message.direction == "out",
            Message.twilio_sid.is_(None),
            or_(
                and_(Message.status == "unknown", Message.claimed_at <= now - grace),
                and_(Message.status == "submitting", Message.claimed_at <= now - lease),
            ),
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return result.scalars().all()


def advance_status(message: Message, status: str) -> bool:
    """Apply a Twilio status if it moves the message forward; True if it did."""
    if message.status in FINAL:
        return False
    if STATUS_RANK.get(status, 0) <= STATUS_RANK.get(message.status, 0):
        return False
    message.status = status
    return True


async def next_wakeup(session: AsyncSession) -> tuple[datetime | None, datetime | None]:
    """(earliest pending not_before or creation, earliest unsettled claim time)."""
    pending = await session.execute(
        select(func.min(func.coalesce(Message.not_before, Message.created_at))).where(
            Message.direction == "out", Message.status == "pending"
        )
    )
    claimed = await session.execute(
        select(func.min(Message.claimed_at)).where(
            Message.direction == "out",
            Message.status.in_(("submitting", "unknown")),
            Message.twilio_sid.is_(None),
        )
    )
    return aware_utc(pending.scalar()), aware_utc(claimed.scalar())

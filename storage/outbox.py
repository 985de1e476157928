"""The Slack outbox: intents to carry out against the Slack Web API."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import SlackDelivery
from storage.types import aware_utc as _aware


async def enqueue(
    session: AsyncSession,
    kind: str,
    *,
    now: datetime,
    conversation_id: int | None = None,
    message_id: int | None = None,
    payload: dict[str, Any] | None = None,
    flush: bool = True,
) -> SlackDelivery:
    delivery = SlackDelivery(
        kind=kind,
        conversation_id=conversation_id,
        message_id=message_id,
        payload=payload or {},
        status="pending",
        created_at=now,
    )
    session.add(delivery)
    if flush:  # for its id; without, it is written with the next flush or the commit
        await session.flush()
    return delivery


def _ready(now: datetime, lease: timedelta) -> Any:
    """Due now and not waiting behind an earlier delivery of its conversation.

    A delivery waits while an earlier one of the same conversation is still
    undone, so a thread's replies land in the order they happened. Rows left
    "sending" past `lease` belong to a worker that died and are taken again.
    """
    earlier = aliased(SlackDelivery)
    due = or_(
        and_(
            SlackDelivery.status == "pending",
            or_(SlackDelivery.not_before.is_(None), SlackDelivery.not_before <= now),
        ),
        and_(SlackDelivery.status == "sending", SlackDelivery.claimed_at <= now - lease),
    )
    blocked = exists().where(
        earlier.conversation_id == SlackDelivery.conversation_id,
        earlier.id < SlackDelivery.id,
        earlier.status.in_(("pending", "sending", "held")),
    )
    return and_(due, or_(SlackDelivery.conversation_id.is_(None), ~blocked))


async def due_ids(
    session: AsyncSession,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    exclude: Collection[int] = (),
) -> list[int]:
    """Up to `limit` deliveries ready to run, oldest first, at most one per conversation,
    leaving out `exclude` (what this worker already has in flight)."""
    query = select(SlackDelivery.id).where(_ready(now, lease))
    if exclude:
        query = query.where(SlackDelivery.id.not_in(list(exclude)))
    result = await session.execute(query.order_by(SlackDelivery.id).limit(limit))
    return list(result.scalars())


async def claim(
    session: AsyncSession,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    among: list[int] | None = None,
    exclude: Collection[int] = (),
) -> list[SlackDelivery]:
    """Take up to `limit` ready deliveries (of `among`, if given), oldest first, and
    mark them "sending" for this worker.

    On PostgreSQL the candidates are locked with SKIP LOCKED, so several
    instances claiming at once take different rows instead of queueing on
    the same ones. On SQLite, whose writer is one at a time, the caller may
    find `among` with a read first, so that an idle poll takes no write lock;
    the UPDATE checks readiness again either way.
    """
    ready = _ready(now, lease)
    if among is None:
        candidates = select(SlackDelivery.id).where(ready).order_by(SlackDelivery.id).limit(limit)
        if exclude:
            candidates = candidates.where(SlackDelivery.id.not_in(list(exclude)))
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True, of=SlackDelivery)
        among = list((await session.execute(candidates)).scalars())
    if not among:
        return []
    result = await session.execute(
        update(SlackDelivery)
        .where(SlackDelivery.id.in_(among[:limit]), ready)
        .values(status="sending", claimed_at=now, attempts=SlackDelivery.attempts + 1)
        .returning(SlackDelivery)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return sorted(result.scalars(), key=lambda d: d.id)


async def renew(
    session: AsyncSession, delivery_id: int, claimed_at: datetime | None, now: datetime
) -> bool:
    """Extend a claim that is still the caller's (False if another worker took it)."""
    result = await session.execute(
        update(SlackDelivery)
        .where(
            SlackDelivery.id == delivery_id,
            SlackDelivery.status == "sending",
            SlackDelivery.claimed_at == claimed_at,
        )
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def finish(session: AsyncSession, outcomes: list[dict[str, Any]]) -> None:
    """Record how each of several deliveries ended, in one statement.

    Each outcome names the row (`row_id`), the claim it was delivered under
    (`claimed`), and its new `status`, `last_error`, `result_channel`,
    `result_ts`, `not_before` and `done_at`.
    """
    if not outcomes:
        return
    statement = (
        update(SlackDelivery)
        .where(
            SlackDelivery.id == bindparam("row_id"),
            # Only while the claim is still this worker's: a copy that outlived its
            # lease must not overwrite what the worker that took it over recorded.
            SlackDelivery.claimed_at == bindparam("claimed", type_=SlackDelivery.claimed_at.type),
        )
        .values(
            status=bindparam("status"),
            last_error=bindparam("last_error"),
            result_channel=bindparam("result_channel"),
            result_ts=bindparam("result_ts"),
            not_before=bindparam("not_before"),
            done_at=bindparam("done_at"),
        )
        .execution_options(synchronize_session=False)
    )
    await (await session.connection()).execute(statement, outcomes)


async def superseded(session: AsyncSession, delivery: SlackDelivery, key: str) -> bool:
    """Whether a later delivery of the same kind, for the same `payload[key]`, is to
    run or has run (so this one can be left out: the later one draws what was true
    when it ran, after this one was queued, and whatever changed since queued its own)."""
    later = await session.execute(
        select(SlackDelivery.id)
        .where(
            SlackDelivery.status.in_(("pending", "sending", "done")),
            SlackDelivery.kind == delivery.kind,
            SlackDelivery.id > delivery.id,
            SlackDelivery.payload[key].as_string() == str(delivery.payload.get(key)),
        )
        .limit(1)
    )
    return later.first() is not None


async def pending(session: AsyncSession) -> Sequence[SlackDelivery]:
    result = await session.execute(
        select(SlackDelivery)
        .where(SlackDelivery.status.in_(("pending", "sending")))
        .order_by(SlackDelivery.id)
    )
    return result.scalars().all()


async def next_due(session: AsyncSession) -> tuple[datetime | None, datetime | None]:
    """(earliest pending not_before or creation, earliest claim of a "sending" row)."""
    pending = await session.execute(
        select(func.min(func.coalesce(SlackDelivery.not_before, SlackDelivery.created_at))).where(
            SlackDelivery.status == "pending"
        )
    )
    sending = await session.execute(
        select(func.min(SlackDelivery.claimed_at)).where(SlackDelivery.status == "sending")
    )
    return _aware(pending.scalar()), _aware(sending.scalar())

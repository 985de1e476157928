"""Deduplication of Slack events and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, SlackEvent


async def first_sight(session: AsyncSession, event_id: str, now: datetime) -> bool:
    """Record a Slack event id; False if it was seen before (a retry).

    The insert runs in a savepoint so a duplicate leaves the caller's
    transaction usable.
    """
    if await session.get(SlackEvent, event_id) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(SlackEvent(event_id=event_id, received_at=now))
    except IntegrityError:
        return False
    return True


async def audit(
    session: AsyncSession, *, actor: str, action: str, now: datetime, **detail: Any
) -> None:
    session.add(AuditEntry(at=now, actor=actor, action=action, detail=detail))
    await session.flush()


async def audit_since(session: AsyncSession, since: datetime | None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return list((await session.execute(query)).scalars())

"""Roster files uploaded from Slack, waiting for the organiser's Import or Cancel.

Each change of state is one conditional UPDATE, so that two clicks (or two
workers) racing on the same file cannot both start an import: only the one
whose UPDATE matched a row goes on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PendingImport

PENDING, IMPORTING, IMPORTED, CANCELLED = "pending", "importing", "imported", "cancelled"


async def add(
    session: AsyncSession,
    *,
    user_id: str,
    campaign_id: int,
    file_id: str,
    filename: str,
    content: bytes,
    now: datetime,
) -> PendingImport:
    pending = PendingImport(
        user_id=user_id,
        campaign_id=campaign_id,
        file_id=file_id,
        filename=filename,
        content=content,
        status=PENDING,
        created_at=now,
    )
    session.add(pending)
    await session.flush()
    return pending


async def get(session: AsyncSession, pending_id: int) -> PendingImport | None:
    return await session.get(PendingImport, pending_id, populate_existing=True)


async def by_file(session: AsyncSession, file_id: str) -> PendingImport | None:
    """The upload made from Slack file ``file_id``, if its preview was already prepared."""
    result = await session.execute(select(PendingImport).where(PendingImport.file_id == file_id))
    return result.scalar_one_or_none()


async def _move(
    session: AsyncSession, pending_id: int, before: str, after: str, **values: Any
) -> bool:
    result = await session.execute(
        update(PendingImport)
        .where(PendingImport.id == pending_id, PendingImport.status == before)
        .values(status=after, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def start_import(session: AsyncSession, pending_id: int) -> bool:
    """pending -> importing; False if it was not pending (already imported, cancelled...)."""
    return await _move(session, pending_id, PENDING, IMPORTING)


async def back_to_pending(session: AsyncSession, pending_id: int) -> bool:
    """importing -> pending, after an import that could not run, so it may be tried again."""
    return await _move(session, pending_id, IMPORTING, PENDING)


async def finish_import(
    session: AsyncSession, pending_id: int, *, now: datetime, report: dict[str, Any]
) -> bool:
    """importing -> imported, keeping the counts and dropping the file's member data."""
    return await _move(
        session, pending_id, IMPORTING, IMPORTED, imported_at=now, report=report, content=b""
    )


async def cancel(session: AsyncSession, pending_id: int) -> bool:
    """pending -> cancelled, dropping the file's member data."""
    return await _move(session, pending_id, PENDING, CANCELLED, content=b"")

"""The global opt-out list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OptOut


async def is_opted_out(session: AsyncSession, phone: str) -> bool:
    return await session.get(OptOut, phone) is not None


async def opted_out_among(session: AsyncSession, phones: list[str]) -> set[str]:
    result = await session.execute(select(OptOut.phone).where(OptOut.phone.in_(phones)))
    return set(result.scalars())


async def add(
    session: AsyncSession, phone: str, *, source: str, now: datetime, detail: str | None = None
) -> bool:
    """Put `phone` on the list; True if it was not on it already."""
    if await session.get(OptOut, phone) is not None:
        return False
    session.add(OptOut(phone=phone, source=source, detail=detail, created_at=now))
    await session.flush()
    return True


async def remove(session: AsyncSession, phone: str) -> bool:
    """Take `phone` off the list (the member texted START); True if it was on it."""
    result = await session.execute(delete(OptOut).where(OptOut.phone == phone))
    return bool(result.rowcount)  # type: ignore[attr-defined]

"""Rate limits every instance shares: one row per key, by GCRA.

GCRA (the generic cell rate algorithm) keeps one number per key, the
theoretical arrival time (TAT): when the next request would be due if
requests came exactly at the rate. A request at `now` may go when
TAT <= now + tolerance, where tolerance = (burst - 1) * interval, and then
TAT becomes max(TAT, now) + interval. Test and update are one UPDATE, so
two instances can never both take the last slot. A Retry-After pushes TAT
out so that the next slot is after it, for every instance at once.
"""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RateLimit


async def acquire(
    session: AsyncSession, key: str, *, now: float, interval: float, burst: int
) -> float:
    """Take a slot for `key`: 0.0 if taken, else the seconds until one may be free."""
    tolerance = max(0, burst - 1) * interval
    later = case((RateLimit.tat > now, RateLimit.tat), else_=now)
    taken = await session.execute(
        update(RateLimit)
        .where(RateLimit.key == key, RateLimit.tat <= now + tolerance)
        .values(tat=later + interval)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return 0.0
    tat = await session.scalar(select(RateLimit.tat).where(RateLimit.key == key))
    if tat is None:
        if await _insert(session, key, now + interval):
            return 0.0
        tat = await session.scalar(select(RateLimit.tat).where(RateLimit.key == key))
        assert tat is not None
    return max(tat - tolerance - now, 0.001)


async def pause(session: AsyncSession, key: str, *, now: float, seconds: float) -> None:
    """Hold every instance's requests for `key` for `seconds` (a Retry-After)."""
    until = now + seconds
    moved = await session.execute(
        update(RateLimit)
        .where(RateLimit.key == key, RateLimit.tat < until)
        .values(tat=until)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        await _insert(session, key, until)


async def paused_for(session: AsyncSession, key: str, *, now: float) -> float:
    """Seconds until a pause-only key (no rate, only Retry-Afters) is free."""
    tat = await session.scalar(select(RateLimit.tat).where(RateLimit.key == key))
    return max(0.0, (tat or 0.0) - now)


async def _insert(session: AsyncSession, key: str, tat: float) -> bool:
    """Create the row for `key`; False if another instance just did."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    result = await session.execute(
        dialect.insert(RateLimit)
        .values(key=key, tat=tat)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(RateLimit.key)
    )
    return result.scalar_one_or_none() is not None

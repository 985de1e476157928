"""Slack users as Turnout knows them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SlackUser


async def get(session: AsyncSession, user_id: str) -> SlackUser | None:
    return await session.get(SlackUser, user_id)


async def upsert(
    session: AsyncSession,
    user_id: str,
    *,
    now: datetime,
    name: str | None = None,
    first_name: str | None = None,
    dm_channel_id: str | None = None,
) -> SlackUser:
    """Create or update the user; safe when two deliveries (or instances) race to it."""
    user = await session.get(SlackUser, user_id)
    if user is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        await session.execute(
            dialect.insert(SlackUser)
            .values(user_id=user_id, name="", first_name="", role="activist", updated_at=now)
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        user = await session.get(SlackUser, user_id, populate_existing=True)
        assert user is not None
    if name is not None:
        user.name = name
    if first_name is not None:
        user.first_name = first_name
    if dm_channel_id is not None:
        user.dm_channel_id = dm_channel_id
    user.updated_at = now
    await session.flush()
    return user

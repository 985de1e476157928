"""Slack users as Turnout knows them."""

from __future__ import annotations

from datetime import datetime

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
    user = await session.get(SlackUser, user_id)
    if user is None:
        user = SlackUser(user_id=user_id, updated_at=now)
        session.add(user)
    if name is not None:
        user.name = name
    if first_name is not None:
        user.first_name = first_name
    if dm_channel_id is not None:
        user.dm_channel_id = dm_channel_id
    user.updated_at = now
    await session.flush()
    return user

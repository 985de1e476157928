"""Setting up the state a test starts from, through the storage layer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.fakes.world import World
from storage import conversations
from storage.models import Agreement, Base, Campaign, Conversation, Member

ALICE = "U0ALICE"
BOB = "U0BOB"
SAM_PHONE = "+447400123456"


async def add_member(
    world: World,
    phone: str = SAM_PHONE,
    *,
    first: str = "Sam",
    last: str = "Jones",
    branch: str = "Leeds",
    agreed: tuple[str, ...] = (ALICE, BOB),
) -> Member:
    """A member of a bare campaign whose terms `agreed` have already accepted."""
    now = datetime.now(UTC)
    async with world.rt.db.transaction() as session:
        campaign = (await session.execute(select(Campaign).limit(1))).scalar_one_or_none()
        if campaign is None:
            campaign = Campaign(
                slug="test",
                name="Test ballot",
                state="active",
                config={"data_protection": "Keep members' data safe."},
                created_at=now,
                updated_at=now,
            )
            session.add(campaign)
            await session.flush()
            for user in agreed:
                session.add(Agreement(user_id=user, campaign_id=campaign.id, agreed_at=now))
        member = Member(
            campaign_id=campaign.id,
            phone=phone,
            first_name=first,
            last_name=last,
            branch=branch,
            fields={},
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        await session.flush()
        return member


async def owned_conversation(world: World, phone: str = SAM_PHONE, owner: str = ALICE) -> int:
    """A member whose conversation `owner` holds (as after an assignment)."""
    member = await add_member(world, phone)
    async with world.rt.db.transaction() as session:
        conversation = await conversations.create(
            session, phone=phone, now=datetime.now(UTC), member=member, owner_id=owner
        )
        return conversation.id


async def thread_for(world: World, conversation_id: int) -> tuple[str, str]:
    async with world.rt.db.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.thread_ts and conversation.dm_channel
        return conversation.dm_channel, conversation.thread_ts


async def started_thread(
    world: World, phone: str = SAM_PHONE, owner: str = ALICE
) -> tuple[str, str]:
    """An owned conversation whose member has texted once, so the thread exists."""
    conversation_id = await owned_conversation(world, phone, owner)
    status, _ = await world.member_texts(phone, "Hello?")
    assert status == 200
    await world.drain()
    return await thread_for(world, conversation_id)


async def count(world: World, model: type[Base], **where: Any) -> int:
    async with world.rt.db.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int((await session.execute(query)).scalar_one())


async def rows(world: World, model: type[Base], **where: Any) -> list[Any]:
    async with world.rt.db.sessions() as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list((await session.execute(query)).scalars())

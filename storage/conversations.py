"""Queries on conversations, their Slack threads and their members."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign, Conversation, ConversationThread, Member, Message, OptOut


async def get(session: AsyncSession, conversation_id: int) -> Conversation | None:
    return await session.get(Conversation, conversation_id)


async def latest_for_phones(
    session: AsyncSession, phones: Iterable[str]
) -> dict[str, Conversation]:
    """The conversation an inbound text from each of `phones` belongs to: the newest."""
    result = await session.execute(
        select(Conversation)
        .where(Conversation.phone.in_(list(phones)))
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    found: dict[str, Conversation] = {}
    for conversation in result.scalars():
        found.setdefault(conversation.phone, conversation)
    return found


async def lock_phones(session: AsyncSession, phones: Iterable[str]) -> bool:
    """On PostgreSQL, hold each number's lock until the transaction ends, so two
    transactions never both open a conversation for it; False on SQLite, whose one
    writer already keeps them apart."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    for phone in sorted(set(phones)):  # one order everywhere: no deadlock
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(phone))))
    return True


async def create(
    session: AsyncSession,
    *,
    phone: str,
    now: datetime,
    member: Member | None = None,
    owner_id: str | None = None,
) -> Conversation:
    conversation = new(phone=phone, now=now, member=member, owner_id=owner_id)
    session.add(conversation)
    await session.flush()
    return conversation


def new(
    *, phone: str, now: datetime, member: Member | None = None, owner_id: str | None = None
) -> Conversation:
    """An open conversation with `phone` (and its member, if known), not yet added."""
    return Conversation(
        phone=phone,
        member_id=member.id if member else None,
        campaign_id=member.campaign_id if member else None,
        owner_id=owner_id,
        state="open",
        created_at=now,
        updated_at=now,
    )


async def by_thread(
    session: AsyncSession, channel: str, thread_ts: str
) -> tuple[Conversation, ConversationThread] | None:
    """The conversation a Slack thread stands (or stood) for."""
    result = await session.execute(
        select(Conversation, ConversationThread)
        .join(ConversationThread, ConversationThread.conversation_id == Conversation.id)
        .where(ConversationThread.channel == channel, ConversationThread.thread_ts == thread_ts)
    )
    row = result.first()
    return (row[0], row[1]) if row else None


async def add_thread(
    session: AsyncSession,
    conversation: Conversation,
    *,
    channel: str,
    thread_ts: str,
    kind: str,
    user_id: str | None,
    now: datetime,
) -> None:
    session.add(
        ConversationThread(
            conversation_id=conversation.id,
            channel=channel,
            thread_ts=thread_ts,
            kind=kind,
            user_id=user_id,
            created_at=now,
        )
    )
    if kind == "dm":
        conversation.dm_channel = channel
        conversation.thread_ts = thread_ts
        conversation.thread_owner_id = user_id
    else:
        conversation.claim_channel = channel
        conversation.claim_ts = thread_ts
    await session.flush()


async def claim(session: AsyncSession, conversation_id: int, user_id: str, now: datetime) -> bool:
    """Make `user_id` the owner if nobody owns it yet; True for the one winner.

    A single conditional UPDATE, so two clicks at once (even in two
    processes) can never both win.
    """
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.owner_id.is_(None))
        .values(owner_id=user_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass
class ToShow:
    """A member's text and what its Slack post shows with it."""

    conversation: Conversation
    message: Message
    member: Member | None
    campaign: Campaign | None
    opted_out: bool


async def to_show(session: AsyncSession, conversation_id: int, message_id: int) -> ToShow | None:
    """The conversation, the text, its member and campaign and whether the number has
    opted out, in one query (None if the conversation or text is gone)."""
    result = await session.execute(
        select(Conversation, Message, Member, Campaign, OptOut.phone)
        .select_from(Conversation)
        .join(Message, Message.id == message_id)
        .outerjoin(Member, Member.id == Conversation.member_id)
        .outerjoin(Campaign, Campaign.id == Conversation.campaign_id)
        .outerjoin(OptOut, OptOut.phone == Conversation.phone)
        .where(Conversation.id == conversation_id)
    )
    row = result.first()
    if row is None:
        return None
    conversation, message, member, campaign, opted_out = row
    return ToShow(conversation, message, member, campaign, opted_out is not None)


async def member_of(session: AsyncSession, conversation: Conversation) -> Member | None:
    if conversation.member_id is None:
        return None
    return await session.get(Member, conversation.member_id)


async def members_by_phone(session: AsyncSession, phones: Iterable[str]) -> dict[str, Member]:
    """The roster member each of `phones` belongs to (the most recently updated)."""
    result = await session.execute(
        select(Member).where(Member.phone.in_(list(phones))).order_by(Member.updated_at.desc())
    )
    found: dict[str, Member] = {}
    for member in result.scalars():
        found.setdefault(member.phone, member)
    return found

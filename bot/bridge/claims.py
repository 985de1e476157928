"""Claiming a conversation nobody owns, from its card in the support channel."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import gate
from bot.intents import Kind
from bot.runtime import Runtime
from storage import campaigns, conversations, events, outbox


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    owner_id: str | None


async def claim(
    rt: Runtime, conversation_id: int, user_id: str, *, channel: str | None = None
) -> ClaimResult:
    """Make `user_id` the owner if nobody is; exactly one of racing clicks wins."""
    now = rt.now()
    async with rt.db.transaction() as session:
        current = await conversations.get(session, conversation_id)
        if current is None:
            return ClaimResult(False, None)
        if not await gate.may_see(session, user_id, current.campaign_id):
            await _ask_to_agree(session, rt, user_id, channel, current.campaign_id)
            return ClaimResult(False, current.owner_id)
        won = await conversations.claim(session, conversation_id, user_id, now)
        conversation = await conversations.get(session, conversation_id)
        if conversation is None:
            return ClaimResult(False, None)
        await session.refresh(conversation)
        if won:
            await events.audit(
                session, actor=user_id, action="claim", now=now, conversation_id=conversation_id
            )
            await outbox.enqueue(
                session, Kind.OPEN_THREAD, now=now, conversation_id=conversation_id
            )
            await outbox.enqueue(
                session,
                Kind.CLAIMED,
                now=now,
                conversation_id=conversation_id,
                payload={"user": user_id},
            )
        elif channel is not None:
            owner = conversation.owner_id
            note = (
                f"<@{owner}> has already claimed this conversation."
                if owner
                else ("This conversation can no longer be claimed.")
            )
            await outbox.enqueue(
                session,
                Kind.EPHEMERAL,
                now=now,
                payload={"channel": channel, "user": user_id, "text": note},
            )
    rt.wake()
    return ClaimResult(won, conversation.owner_id)


async def _ask_to_agree(
    session: AsyncSession, rt: Runtime, user_id: str, channel: str | None, campaign_id: int | None
) -> None:
    """A claim by someone who has not agreed to the terms: show them the terms."""
    campaign = (
        await campaigns.get(session, campaign_id)
        if campaign_id is not None
        else next(iter(await campaigns.active(session)), None)
    )
    if campaign is None or channel is None:
        return
    await outbox.enqueue(
        session,
        Kind.EPHEMERAL,
        now=rt.now(),
        payload={
            "channel": channel,
            "user": user_id,
            "text": "Agree to the data-protection terms first, then claim again.",
            "blocks": gate.gate_blocks(campaign),
        },
    )

"""The data-protection gate: no member data reaches an activist who has not agreed.

Each campaign carries its own terms. Until an activist presses "I agree"
for a campaign, nothing of its members is shown to them (Slack deliveries
for their conversations are held) and nothing can be sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.intents import Kind
from bot.runtime import Runtime
from storage import events, outbox
from storage.models import Agreement, Campaign, Conversation, SlackDelivery

AGREE_ACTION = "data_protection_agree"


async def has_agreed(session: AsyncSession, user_id: str, campaign_id: int | None) -> bool:
    """True if the user agreed to this campaign's terms (or, with no campaign, to any)."""
    query = select(Agreement.id).where(Agreement.user_id == user_id)
    if campaign_id is not None:
        query = query.where(Agreement.campaign_id == campaign_id)
    return (await session.execute(query.limit(1))).first() is not None


async def agree(rt: Runtime, user_id: str, campaign_id: int) -> bool:
    """Record the acceptance (once) and release what was held for it; True if new."""
    now = rt.now()
    async with rt.db.transaction() as session:
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            return False
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        inserted = await session.execute(
            dialect.insert(Agreement)
            .values(user_id=user_id, campaign_id=campaign_id, agreed_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "campaign_id"])
            .returning(Agreement.id)
        )
        new = inserted.scalar_one_or_none() is not None
        if new:
            await events.audit(
                session,
                actor=user_id,
                action="data_protection_agree",
                now=now,
                campaign=campaign.slug,
            )
        mine = select(Conversation.id).where(
            Conversation.owner_id == user_id, Conversation.campaign_id == campaign_id
        )
        await session.execute(
            update(SlackDelivery)
            .where(SlackDelivery.status == "held", SlackDelivery.conversation_id.in_(mine))
            .values(status="pending", not_before=None)
            .execution_options(synchronize_session=False)
        )
        await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": user_id})
    rt.wake()
    return new


def gate_blocks(campaign: Campaign) -> list[dict[str, Any]]:
    """The campaign's terms and the button that accepts them."""
    terms = str((campaign.config or {}).get("data_protection") or "").strip()
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"Before you start: {campaign.name}"[:150]},
        },
        {
            "type": "section",
            "text": {"type": "plain_text", "text": terms[:2900] or "(no terms set)"},
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": AGREE_ACTION,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "I agree"},
                    "value": str(campaign.id),
                }
            ],
        },
    ]


async def may_see(session: AsyncSession, user_id: str, campaign_id: int | None) -> bool:
    """May this user be shown a conversation of this campaign?

    A conversation with no campaign (an unknown number) needs agreement to
    some campaign's terms, once any campaign exists.
    """
    if await has_agreed(session, user_id, campaign_id):
        return True
    if campaign_id is None:
        return (await session.execute(select(Campaign.id).limit(1))).first() is None
    return False

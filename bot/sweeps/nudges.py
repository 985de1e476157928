"""nudges: replies waiting too long nudge their owner, then go to the support channel.

Within each campaign's texting hours only (nobody is pinged at 3 a.m.). Each
waiting text nudges once and escalates once; an idle queue nudges its
activist at most once a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.campaigns.campaign_file import CampaignFileError, CampaignSpec
from bot.campaigns.lifecycle import spec_of
from bot.intents import Kind
from bot.runtime import Runtime
from storage import outbox, users
from storage import sweeps as queries
from storage.models import Campaign

NUDGE_AFTER = timedelta(minutes=30)
ESCALATE_AFTER = timedelta(hours=4)
IDLE_AFTER = timedelta(days=1)


async def run(rt: Runtime, now: datetime) -> str:
    nudged = escalated = idle = 0
    async with rt.db.transaction() as session:
        specs: dict[int, CampaignSpec | None] = {}
        practice: set[int] = set()

        async def spec(campaign_id: int | None) -> CampaignSpec | None:
            if campaign_id is None:
                return None
            if campaign_id not in specs:
                campaign = await session.get(Campaign, campaign_id)
                if campaign is not None and campaign.practice:
                    practice.add(campaign_id)
                try:
                    specs[campaign_id] = spec_of(campaign) if campaign else None
                except CampaignFileError:
                    specs[campaign_id] = None
            return specs[campaign_id]

        def limits(s: CampaignSpec | None) -> tuple[timedelta, timedelta]:
            if s is None:
                return NUDGE_AFTER, ESCALATE_AFTER
            return (
                timedelta(minutes=s.nudge_after_minutes),
                timedelta(minutes=s.escalate_after_minutes),
            )

        def open_now(s: CampaignSpec | None) -> bool:
            return s is None or s.texting_window(now)[0]

        for message, conversation in await queries.waiting_replies(
            session, before=now, mark="escalated_at"
        ):
            s = await spec(conversation.campaign_id)
            nudge_after, escalate_after = limits(s)
            if not open_now(s):
                continue
            waited = now - message.created_at
            if waited >= escalate_after and conversation.campaign_id in practice:
                # Coordinators do not chase a trainee's simulated members.
                message.escalated_at = now
            elif waited >= escalate_after:
                message.escalated_at = now
                message.nudged_at = message.nudged_at or now
                await outbox.enqueue(
                    session,
                    Kind.ESCALATION,
                    now=now,
                    conversation_id=conversation.id,
                    payload={
                        "minutes": int(waited.total_seconds() // 60),
                        "owner": conversation.owner_id,
                    },
                )
                escalated += 1
            elif waited >= nudge_after and message.nudged_at is None:
                message.nudged_at = now
                await outbox.enqueue(
                    session,
                    Kind.NUDGE,
                    now=now,
                    conversation_id=conversation.id,
                    payload={
                        "minutes": int(waited.total_seconds() // 60),
                        "user": conversation.owner_id,
                    },
                )
                nudged += 1
        for activist, campaign_id, left in await queries.idle_activists(
            session, since=now - IDLE_AFTER
        ):
            s = await spec(campaign_id)
            if not open_now(s) or campaign_id in practice:
                continue
            user = await users.upsert(session, activist, now=now)
            user.queue_nudged_at = now
            name = s.name if s else "the campaign"
            await outbox.enqueue(
                session,
                Kind.DM,
                now=now,
                payload={
                    "user": activist,
                    "text": (
                        f":wave: You still have {left} member{'s' if left != 1 else ''} "
                        f"to text for *{name}*. Open this app's Home tab and press "
                        "*Send next* when you have a few minutes."
                    ),
                },
            )
            idle += 1
    rt.wake()
    return f"nudged {nudged} replies, escalated {escalated}, reminded {idle} idle queues"

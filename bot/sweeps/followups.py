"""followups: each due follow-up round puts members back in their activist's queue.

A round runs once (recorded with the number queued, in the same
transaction). It queues every texted, open, owned conversation whose
outcome is not in the round's `unless_outcome` and whose member is still
textable; the activist sends them from App Home, one click each, within
texting hours.
"""

from __future__ import annotations

from datetime import datetime

from bot.campaigns.campaign_file import CampaignFileError
from bot.campaigns.lifecycle import spec_of
from bot.intents import Kind
from bot.runtime import Runtime
from storage import campaigns, events, outbox
from storage import sweeps as queries
from storage.models import FollowupRound


async def run(rt: Runtime, now: datetime) -> str:
    rounds = queued = 0
    async with rt.db.transaction() as session:
        for campaign in await campaigns.active(session):
            try:
                spec = spec_of(campaign)
            except CampaignFileError:
                continue
            for number, followup in enumerate(spec.followups):
                if followup.at > now or await queries.round_ran(session, campaign.id, number):
                    continue
                owners: set[str] = set()
                members = await queries.followup_candidates(
                    session, campaign.id, list(followup.unless_outcome)
                )
                for conversation in members:
                    conversation.followup_round = number
                    conversation.followup_script = followup.script
                    conversation.updated_at = now
                    if conversation.owner_id:
                        owners.add(conversation.owner_id)
                session.add(
                    FollowupRound(
                        campaign_id=campaign.id, round=number, queued=len(members), ran_at=now
                    )
                )
                await events.audit(
                    session,
                    actor="sweep",
                    action="followup_round",
                    now=now,
                    campaign=campaign.slug,
                    round=number,
                    script=followup.script,
                    queued=len(members),
                )
                for owner in sorted(owners):
                    await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": owner})
                    await outbox.enqueue(
                        session,
                        Kind.DM,
                        now=now,
                        payload={
                            "user": owner,
                            "text": (
                                f":repeat: A follow-up round of *{campaign.name}* is ready: "
                                "open the Home tab and press *Send next*."
                            ),
                        },
                    )
                rounds += 1
                queued += len(members)
    rt.wake()
    return f"ran {rounds} follow-up rounds, queueing {queued} members"

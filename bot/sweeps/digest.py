"""The daily digest: once a day, at each campaign's `digest_at` local time.

For every active campaign whose digest time has passed today (in its own
zone) and whose digest for today is not yet queued, the figures are counted
now and queued for the support channel as one Slack delivery (see
`bot.sweeps.digest_post`). The "digest" audit entry that marks the day as done is
written in the same transaction as the delivery, under a lock on the
campaign row, so two sweeps, or one run twice, queue it once.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.campaign_file import CampaignFileError, CampaignSpec
from bot.campaigns.lifecycle import spec_of
from bot.intents import Kind
from bot.runtime import Runtime
from bot.sweeps.digest_post import Counts, Digest
from storage import campaigns as stored_campaigns
from storage import digest as stored
from storage import outbox
from storage.models import Campaign
from storage.stats import Figures, campaign_figures

log = logging.getLogger(__name__)


async def run(rt: Runtime, now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("the digest sweep needs an aware datetime")
    async with rt.db.sessions() as session:
        active = await stored_campaigns.active(session)
    queued: list[str] = []
    for campaign in active:
        try:
            spec = spec_of(campaign)
        except CampaignFileError:
            log.warning("campaign %s has unreadable settings; no digest", campaign.slug)
            continue
        day, day_starts, due = _today(spec, now)
        if now.astimezone(UTC) < due.astimezone(UTC):
            continue
        if await _queue(rt, campaign, spec, now, day, day_starts):
            queued.append(campaign.slug)
    if not queued:
        return "digest: nothing due"
    rt.wake()
    return f"digest: queued for {', '.join(queued)}"


def _today(spec: CampaignSpec, now: datetime) -> tuple[date, datetime, datetime]:
    """The campaign's local date, when that day began, and when its digest is due."""
    zone = spec.zone
    day = now.astimezone(zone).date()
    return (
        day,
        datetime.combine(day, time(0), tzinfo=zone),
        datetime.combine(day, spec.digest_at, tzinfo=zone),
    )


async def _queue(
    rt: Runtime,
    campaign: Campaign,
    spec: CampaignSpec,
    now: datetime,
    day: date,
    day_starts: datetime,
) -> bool:
    """Count and queue today's digest unless it is already queued; True if queued."""
    async with rt.db.sessions() as session:
        if await stored.digest_posted(session, campaign.id, day, day_starts=day_starts):
            return False
        digest = await _count(session, campaign, spec, now, day)
    async with rt.db.transaction() as session:
        # Held to the commit: a second sweep waits here, then finds the entry below.
        await stored_campaigns.get_by_slug(session, campaign.slug, lock=True)
        if await stored.digest_posted(session, campaign.id, day, day_starts=day_starts):
            return False
        delivery = await outbox.enqueue(session, Kind.DIGEST, now=now, payload=digest.to_payload())
        await stored.record_digest(session, campaign.id, day, now=now, delivery_id=delivery.id)
    log.info("digest for %s (%s) queued as delivery %s", campaign.slug, day, delivery.id)
    return True


async def _count(
    session: AsyncSession, campaign: Campaign, spec: CampaignSpec, now: datetime, day: date
) -> Digest:
    figures = await campaign_figures(session, campaign.id)
    turnout = await stored.turnout_by_branch(session, campaign.id)
    replacements = await stored.replacement_counts(session, campaign.id)
    closes_on = spec.ballot_closes.astimezone(spec.zone).date()
    branches = tuple(
        (name, _counts(figures.get(name, Figures()), turnout.get(name, stored.Turnout(0, 0))))
        for name in sorted(figures.keys() | turnout.keys())
    )
    return Digest(
        campaign_id=campaign.id,
        campaign=campaign.name,
        slug=campaign.slug,
        day=day,
        timezone=spec.timezone,
        threshold=spec.turnout_threshold,
        ballot_closes=spec.ballot_closes,
        days_left=(closes_on - day).days,
        closed=now.astimezone(UTC) >= spec.ballot_closes.astimezone(UTC),
        replacements_open=replacements.open,
        replacements_processed=replacements.processed,
        branches=branches,
    )


def _counts(figures: Figures, turnout: stored.Turnout) -> Counts:
    return Counts(
        members=turnout.members,
        voted=turnout.voted,
        texted=figures.texted,
        texts_sent=figures.texts_sent,
        delivered=figures.delivered,
        failed=figures.failed,
        replies=figures.replies,
        replied=figures.replied,
        opted_out=figures.opted_out,
    )

"""Purging a closed campaign: its personal data goes, its figures stay for the record.

`turnout campaign purge SLUG` runs this once the ballot is over. In one
transaction it writes the campaign's aggregate figures to the audit log
(action "purge") and then blanks member names, phones, membership numbers and
custom fields, conversation phones, message bodies, replacement-ballot
addresses and notes, uploaded roster files and the Slack outbox payloads of
the campaign's conversations (see `storage.purge.erase`). With `slack=True`
it also queues the deletion of every message the app posted in the
conversations' Slack threads (`bot.slack_cleanup`).

Kept: the global opt-out list (a number that texted STOP must never be
texted again, by any campaign), outcome events, message states and times,
branches, and the ids that tie them together, so stats still add up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.intents import Kind
from storage import campaigns, events, outbox
from storage import purge as stored
from storage.db import Database
from storage.members import count_for_campaign
from storage.models import AuditEntry, Campaign
from storage.stats import campaign_figures, total

# What an audit "purge" entry says about that run, next to the campaign's figures.
_RUN_KEYS = frozenset({"erased", "slack_threads", "repeated"})


class PurgeRefused(Exception):
    """The campaign cannot be purged (unknown, or not closed); the message says why."""


@dataclass(frozen=True, slots=True)
class PurgePreview:
    """What a purge of the campaign would erase, shown before the admin confirms."""

    slug: str
    name: str
    members: int
    conversations: int
    threads: int
    purged_before: datetime | None


@dataclass(frozen=True, slots=True)
class PurgeReport:
    slug: str
    erased: stored.Erased
    # The figures kept in the audit log (from the first purge, if this is a repeat).
    record: dict[str, Any]
    slack_threads_queued: int
    # True if the campaign had been purged before (this run blanked whatever came since).
    repeated: bool


async def preview(db: Database, slug: str) -> PurgePreview:
    """What `purge_campaign` would do to `slug`; PurgeRefused if it may not be purged."""
    async with db.sessions() as session:
        campaign = await _closed_campaign(session, slug)
        earlier = await stored.earlier_purges(session, campaign.id)
        return PurgePreview(
            slug=campaign.slug,
            name=campaign.name,
            members=await count_for_campaign(session, campaign.id),
            conversations=await stored.conversation_count(session, campaign.id),
            threads=len(await stored.threads(session, campaign.id)),
            purged_before=earlier[0].at if earlier else None,
        )


async def purge_campaign(
    db: Database, slug: str, *, slack: bool, now: datetime, actor: str
) -> PurgeReport:
    """Erase closed campaign `slug`'s personal data, keeping its figures in the audit log.

    All or nothing: the record and the erasure commit together. Running it
    again is safe; it keeps the first record and erases anything added since.
    """
    async with db.transaction() as session:
        campaign = await _closed_campaign(session, slug, lock=True)
        earlier = await stored.earlier_purges(session, campaign.id)
        # Counted before erasing: opt-outs among members are found by phone.
        record = _figures_of(earlier[0]) if earlier else await _figures(session, campaign)
        erased = await stored.erase(session, campaign.id, now)
        threads = await stored.threads(session, campaign.id) if slack else []
        for thread in threads:
            await outbox.enqueue(
                session,
                Kind.DELETE_MESSAGE,
                now=now,
                conversation_id=thread.conversation_id,
                payload={"channel": thread.channel, "ts": thread.ts, "thread": True},
            )
        detail: dict[str, Any] = dict(record) if not earlier else _identity(campaign)
        detail.update(erased=asdict(erased), slack_threads=len(threads), repeated=bool(earlier))
        await events.audit(session, actor=actor, action=stored.PURGE_ACTION, now=now, **detail)
    return PurgeReport(
        slug=campaign.slug,
        erased=erased,
        record=record,
        slack_threads_queued=len(threads),
        repeated=bool(earlier),
    )


async def _closed_campaign(session: AsyncSession, slug: str, *, lock: bool = False) -> Campaign:
    campaign = await campaigns.get_by_slug(session, slug, lock=lock)
    if campaign is None:
        known = ", ".join(c.slug for c in await campaigns.all(session)) or "none loaded yet"
        raise PurgeRefused(f"no campaign {slug!r} (campaigns: {known})")
    if campaign.state != "closed":
        raise PurgeRefused(
            f"campaign {slug} is {campaign.state}, and only a closed campaign can be purged: "
            f"close it first with `/turnout campaign close {slug}`"
        )
    return campaign


def _figures_of(entry: AuditEntry) -> dict[str, Any]:
    """The figures an earlier purge recorded, without what that run erased."""
    return {k: v for k, v in entry.detail.items() if k not in _RUN_KEYS}


def _identity(campaign: Campaign) -> dict[str, Any]:
    return {"campaign": campaign.slug, "campaign_id": campaign.id}


async def _figures(session: AsyncSession, campaign: Campaign) -> dict[str, Any]:
    """The aggregate figures kept for the record: overall, by outcome and by branch."""
    per_branch = await campaign_figures(session, campaign.id)
    requested, processed = await stored.replacement_counts(session, campaign.id)
    return {
        **_identity(campaign),
        **asdict(total(per_branch)),
        "conversations": await stored.conversation_count(session, campaign.id),
        "outcomes": await stored.outcome_counts(session, campaign.id),
        "replacement_requests": requested,
        "replacement_requests_processed": processed,
        "by_branch": {branch: asdict(f) for branch, f in sorted(per_branch.items())},
    }

"""Campaign rows: lookups, and writing a validated campaign file into one.

Storage does not import the domain: `upsert_from_spec` takes anything shaped
like a campaign spec (see `CampaignDefinition`), and the rules for moving
between states live in `bot.campaigns`; here a state is only stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Campaign

STATES: Final = ("draft", "active", "paused", "closed")


class CampaignDefinition(Protocol):
    """What a campaign row is written from (`bot.campaign_file.CampaignSpec`)."""

    @property
    def slug(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    def to_config(self) -> dict[str, Any]: ...


async def get(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id)


async def get_by_slug(session: AsyncSession, slug: str, *, lock: bool = False) -> Campaign | None:
    """The campaign `slug`; `lock` holds its row until the transaction ends (PostgreSQL)."""
    query = select(Campaign).where(Campaign.slug == slug)
    if lock:
        query = query.with_for_update()
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def all(session: AsyncSession, *, practice: bool = False) -> Sequence[Campaign]:
    """Every live campaign by slug, or every practice one (named to read as `campaigns.all`)."""
    result = await session.execute(
        select(Campaign).where(Campaign.practice.is_(practice)).order_by(Campaign.slug)
    )
    return result.scalars().all()


async def active(session: AsyncSession, *, practice: bool = False) -> Sequence[Campaign]:
    """The live campaigns that may text now, by slug (practice ones with `practice`)."""
    result = await session.execute(
        select(Campaign)
        .where(Campaign.state == "active", Campaign.practice.is_(practice))
        .order_by(Campaign.slug)
    )
    return result.scalars().all()


async def upsert_from_spec(
    session: AsyncSession, spec: CampaignDefinition, now: datetime
) -> tuple[Campaign, bool]:
    """Create the campaign `spec.slug`, or rewrite its settings; True if created.

    An update keeps the state: reloading the file of a running campaign (to
    fix a script) must not pause or restart it. New campaigns are drafts, so
    nothing is texted until an organiser starts them.
    """
    campaign = await get_by_slug(session, spec.slug)
    created = campaign is None
    if campaign is None:
        campaign = Campaign(slug=spec.slug, state="draft", created_at=now)
        session.add(campaign)
    campaign.name = spec.name
    campaign.timezone = spec.timezone
    campaign.config = spec.to_config()
    campaign.updated_at = now
    await session.flush()
    return campaign, created


async def set_state(session: AsyncSession, campaign: Campaign, state: str, now: datetime) -> None:
    """Store `state`; which transitions are allowed is the domain's decision."""
    if state not in STATES:
        raise ValueError(f"unknown campaign state {state!r} (states: {', '.join(STATES)})")
    campaign.state = state
    campaign.updated_at = now
    await session.flush()

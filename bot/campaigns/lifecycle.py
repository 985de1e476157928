"""Campaigns in the domain: loading a file, moving between states, finding one.

A campaign is born a draft when its file is first loaded, is started
(`active`) when the organiser is ready, may be paused and resumed, and is
finally closed; a closed campaign stays closed, because closing is what
lets its personal data be purged. Commands that need a campaign name it
with `campaign:SLUG`, or mean the only active one (`resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.campaign_file import CampaignSpec, load_campaign_file
from bot.scripts import templates
from storage import campaigns as stored
from storage import events
from storage.db import Database
from storage.models import Campaign

if TYPE_CHECKING:  # the runtime pulls in the Slack and Twilio clients; the CLI needs neither
    from bot.runtime import Runtime

# state -> {state it may move to: the verb an organiser uses for that move}
_MOVES: dict[str, dict[str, str]] = {
    "draft": {"active": "start"},
    "active": {"paused": "pause", "closed": "close"},
    "paused": {"active": "start", "closed": "close"},  # `start` resumes a paused one
    "closed": {},
}
_DONE = {"start": "started", "pause": "paused", "close": "closed"}
_BECOME = {"active": "started", "paused": "paused", "closed": "closed", "draft": "a draft again"}


class CampaignError(Exception):
    """A campaign command that cannot be done; the message says what to do instead."""


class CampaignStateError(CampaignError):
    """A state change that the campaign's lifecycle does not allow."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What loading a campaign file did, for the organiser to check."""

    campaign_id: int
    created: bool
    state: str
    spec: CampaignSpec
    # The initial script with sample names (see templates.render_sample), so
    # its length and SMS cost can be shown before any member is imported.
    initial: str

    @property
    def slug(self) -> str:
        return self.spec.slug

    @property
    def initial_length(self) -> int:
        return len(self.initial)

    @property
    def custom_fields(self) -> list[str]:
        """Imported columns the scripts need, sorted: members lacking them get no hole."""
        return sorted(self.spec.custom_fields())


async def load_campaign(
    db: Database, path: Path, now: datetime, *, actor: str = "cli"
) -> LoadResult:
    """Create or update the campaign in the file at `path`.

    The whole file is validated before the database is touched, so a bad
    file (CampaignFileError, listing every problem) changes nothing. A
    closed campaign is not rewritten (CampaignStateError): its members may
    already be purged, and its outcomes are the record of what happened.
    """
    spec = load_campaign_file(path)
    async with db.transaction() as session:
        existing = await stored.get_by_slug(session, spec.slug, lock=True)
        if existing is not None and existing.state == "closed":
            raise CampaignStateError(
                f"campaign {spec.slug} is closed, so its file can no longer be changed; "
                "load it under a new slug to run it again"
            )
        if existing is not None and existing.practice:
            raise CampaignError(
                f"{spec.slug} is the practice copy of campaign {existing.practice_of}; "
                "give this campaign another slug"
            )
        campaign, created = await stored.upsert_from_spec(session, spec, now)
        await events.audit(
            session,
            actor=actor,
            action="campaign_created" if created else "campaign_updated",
            now=now,
            campaign=spec.slug,
            source=str(path),
        )
    initial = templates.render_sample(
        spec.initial, {"ballot_closes_date": spec.ballot_closes_date()}
    )
    return LoadResult(
        campaign_id=campaign.id,
        created=created,
        state=campaign.state,
        spec=spec,
        initial=initial,
    )


async def set_state(
    db: Database, slug: str, state: str, now: datetime, *, actor: str = "cli"
) -> Campaign:
    """Move campaign `slug` to `state`, if its lifecycle allows; CampaignError if not."""
    if state not in _MOVES:
        raise CampaignStateError(f"unknown campaign state {state!r} (states: {', '.join(_MOVES)})")
    async with db.transaction() as session:
        # Locked, so two organisers pausing and closing at once are serialised.
        campaign = await _named(session, slug, lock=True)
        _check_move(campaign, state)
        before = campaign.state
        await stored.set_state(session, campaign, state, now)
        await events.audit(
            session,
            actor=actor,
            action="campaign_state",
            now=now,
            campaign=slug,
            before=before,
            after=state,
        )
    return campaign


async def change_state(rt: Runtime, user_id: str, slug: str, state: str) -> Campaign:
    """`/turnout campaign start|pause|close SLUG` by `user_id` (role checked by the caller)."""
    return await set_state(rt.db, slug, state, rt.now(), actor=user_id)


async def list_campaigns(session: AsyncSession, *, practice: bool = False) -> list[Campaign]:
    """Every live campaign (or every practice one), by slug, for `/turnout campaign list`."""
    return list(await stored.all(session, practice=practice))


def _check_move(campaign: Campaign, state: str) -> None:
    current = campaign.state
    if current == state:
        raise CampaignStateError(f"campaign {campaign.slug} is already {_described(state)}")
    allowed = _MOVES.get(current, {})
    if state in allowed:
        return
    if allowed:
        why = "it can only be " + " or ".join(_DONE[verb] for verb in allowed.values())
    else:
        why = "a closed campaign stays closed"
    raise CampaignStateError(
        f"campaign {campaign.slug} cannot be {_BECOME[state]}: "
        f"it is {_described(current)}, and {why}"
    )


def _described(state: str) -> str:
    return "a draft" if state == "draft" else state


async def resolve(
    session: AsyncSession, slug: str | None, *, practice_ok: bool = False
) -> Campaign:
    """The campaign a command means: `campaign:SLUG` if given, else the only active one.

    Practice campaigns are never the one meant unless named, and named only
    where `practice_ok` (they have no members, exports or scripts of their own).
    """
    if slug is not None:
        campaign = await _named(session, slug)
        if campaign.practice and not practice_ok:
            raise CampaignError(
                f"{slug} is the practice copy of {campaign.practice_of}: its members are "
                f"simulated, so it takes no imports, batches, scripts or exports; "
                f"use campaign:{campaign.practice_of}"
            )
        return campaign
    running = list(await stored.active(session))
    if len(running) == 1:
        return running[0]
    if running:
        slugs = ", ".join(c.slug for c in running)
        raise CampaignError(f"several campaigns are active ({slugs}): add campaign:SLUG")
    raise CampaignError("no campaign is active: start one with /turnout campaign start SLUG")


async def _named(session: AsyncSession, slug: str, *, lock: bool = False) -> Campaign:
    campaign = await stored.get_by_slug(session, slug, lock=lock)
    if campaign is None:
        known = [c.slug for c in await stored.all(session)]
        listing = ", ".join(known) if known else "none loaded yet"
        raise CampaignError(f"no campaign {slug!r} (campaigns: {listing})")
    return campaign


def spec_of(campaign: Campaign) -> CampaignSpec:
    """The validated settings a campaign row holds."""
    return CampaignSpec.from_config(
        campaign.slug, campaign.name, campaign.timezone, campaign.config
    )

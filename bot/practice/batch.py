"""`/turnout practice [N] [campaign:SLUG]` and `/turnout practice end`.

A practice batch is a handful of simulated members, assigned to the
activist who asked, in a practice copy of a live campaign: the same scripts,
outcomes and data-protection terms, texting at any hour, no follow-up
rounds. Its members have numbers from the simulated range, so no real
phone can be among them, and its texts go to the simulator on either
backend (`Runtime.gateway`). It is kept out of live stats, exports and
digests by the `practice` flag on its campaign row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.lifecycle import CampaignError, spec_of
from bot.intents import Kind
from bot.phones import is_simulated
from bot.practice.personas import NAMES, batch_personas, number_for
from bot.runtime import Runtime
from bot.scripts.templates import SAMPLE_VALUES
from bot.text import PRACTICE_MARK
from storage import assignments, events, outbox
from storage import campaigns as stored_campaigns
from storage import practice as stored
from storage.models import Campaign, Member

DEFAULT_SIZE = 5
MAX_SIZE = 20
SUFFIX = "-practice"
# Practice texts reach nobody's phone, so a training session can run late.
ANY_HOUR = {"start": "00:00", "end": "23:59"}


async def start(rt: Runtime, user_id: str, size: int, live_slug: str | None) -> str:
    """Give `user_id` a practice batch of `size` simulated members; the answer to show."""
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(f"a practice batch is 1 to {MAX_SIZE} members, e.g. /turnout practice 5")
    now = rt.now()
    async with rt.db.transaction() as session:
        # First, so a double-sent command or two trainees at once take turns.
        await stored.lock_batches(session)
        held = await stored.batch_of(session, user_id)
        if held:
            left = sum(c.initial_sent_at is None for c in held)
            return (
                f"{PRACTICE_MARK}: you already have a batch of {len(held)} simulated members "
                f"({left} still to text). Press *Send next* in the app's Home tab, or clear it "
                "with `/turnout practice end` and start again."
            )
        live = await _live_campaign(session, live_slug)
        campaign = await _practice_copy(session, live, now)
        given = await _fill(session, campaign, user_id, size, now)
        await events.audit(
            session,
            actor=user_id,
            action="practice_start",
            now=now,
            campaign=campaign.slug,
            members=given,
        )
        await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": user_id})
    rt.wake()
    return (
        f"{PRACTICE_MARK}: {given} simulated members are ready in "
        f"*{campaign.name}*. They are not real people and nothing you send reaches a phone; "
        "they answer after a little while, as members do. Open the app's *Home* tab and press "
        "*Send next*. `/turnout practice end` clears the batch when you are done."
    )


async def end(rt: Runtime, user_id: str) -> str:
    """Clear `user_id`'s practice batch: its simulated members, texts and agreement."""
    now = rt.now()
    async with rt.db.transaction() as session:
        held = list(await stored.batch_of(session, user_id, open_only=False))
        if not held:
            return f"{PRACTICE_MARK}: you have no practice batch. `/turnout practice` starts one."
        campaign_ids = {c.campaign_id for c in held if c.campaign_id is not None}
        texted = sum(c.initial_sent_at is not None for c in held)
        # A purged practice campaign's phones are tokens by now; only simulated
        # numbers' opt-outs and events are cleared, never a real number's.
        await stored.clear(session, held, [c.phone for c in held if is_simulated(c.phone)])
        for campaign_id in campaign_ids:
            await stored.forget_agreement(session, user_id, campaign_id)
        await events.audit(
            session, actor=user_id, action="practice_end", now=now, members=len(held)
        )
        await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": user_id})
    rt.wake()
    return (
        f"{PRACTICE_MARK} cleared: {len(held)} simulated members ({texted} texted) and their "
        "texts are gone. The threads in your DM stay as they were. `/turnout practice` "
        "starts a new batch, with the data-protection terms to agree to again."
    )


async def _live_campaign(session: AsyncSession, slug: str | None) -> Campaign:
    """The campaign to practise: `slug`, else the one running, else the one not yet closed."""
    if slug is not None:
        campaign = await stored_campaigns.get_by_slug(session, slug)
        if campaign is None or campaign.practice:
            known = ", ".join(c.slug for c in await stored_campaigns.all(session)) or "none"
            raise CampaignError(f"no campaign {slug!r} to practise (campaigns: {known})")
        return campaign
    everything = list(await stored_campaigns.all(session))
    for candidates in (
        [c for c in everything if c.state == "active"],
        [c for c in everything if c.state != "closed"],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            slugs = ", ".join(c.slug for c in candidates)
            raise CampaignError(f"which campaign? ({slugs}): add campaign:SLUG")
    raise CampaignError(
        "there is no campaign to practise yet: an organiser loads one with "
        "`turnout campaign load FILE.yml`"
    )


async def _practice_copy(session: AsyncSession, live: Campaign, now: datetime) -> Campaign:
    """The practice campaign of `live`, created or brought up to date with its scripts."""
    campaign = await stored.practice_for(session, live.slug)
    if campaign is None:
        slug = await _free_slug(session, live.slug)
        campaign = Campaign(
            slug=slug, practice=True, practice_of=live.slug, state="active", created_at=now
        )
        session.add(campaign)
    config: dict[str, Any] = dict(live.config)
    config["texting_hours"] = dict(ANY_HOUR)
    config["followups"] = []
    campaign.name = f"Practice: {live.name}"[:200]
    campaign.timezone = live.timezone
    campaign.config = config
    campaign.state = "active"
    campaign.updated_at = now
    await session.flush()
    spec_of(campaign)  # the copy must still be a valid campaign
    # Held until the transaction ends, so two trainees starting at once take turns.
    locked = await stored_campaigns.get_by_slug(session, campaign.slug, lock=True)
    assert locked is not None
    return locked


async def _free_slug(session: AsyncSession, live_slug: str) -> str:
    base = live_slug[: 64 - len(SUFFIX) - 3] + SUFFIX
    slug, n = base, 1
    while await stored_campaigns.get_by_slug(session, slug) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


async def _fill(
    session: AsyncSession, campaign: Campaign, user_id: str, size: int, now: datetime
) -> int:
    """Add up to `size` simulated members for `user_id`; how many were added."""
    spec = spec_of(campaign)
    taken = await stored.phones_in_use(session)
    start_at = await stored.batches_started(session)
    fields = {name: SAMPLE_VALUES.get(name, f"({name})") for name in spec.custom_fields()}
    given = 0
    for i, persona in enumerate(batch_personas(size, start_at)):
        phone = number_for(persona, taken)
        if phone is None:
            break
        taken.add(phone)
        first, last = NAMES[(start_at * size + i) % len(NAMES)]
        member = await stored.add_member(
            session,
            Member(
                campaign_id=campaign.id,
                phone=phone,
                first_name=first,
                last_name=last,
                branch="Practice",
                fields=dict(fields),
                created_at=now,
                updated_at=now,
            ),
        )
        await assignments.take_member(
            session,
            campaign_id=campaign.id,
            member_id=member.id,
            phone=phone,
            conversation_id=None,
            owner_id=user_id,
            now=now,
        )
        given += 1
    if not given:
        raise CampaignError(
            "every simulated number is in use by other practice batches; ask trainees who "
            "have finished to type `/turnout practice end`"
        )
    return given

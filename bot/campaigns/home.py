"""The activist's App Home: their queue, their replies waiting, Send next.

Rendered from the database whenever it may have changed (a Slack outbox
delivery), so it is always the current truth and costs nothing to redo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge.card_actions import outcome_label
from bot.campaigns import gate
from bot.campaigns.campaign_file import CampaignSpec
from bot.campaigns.lifecycle import spec_of
from bot.campaigns.roles import Role, role_of
from bot.intents import Kind
from bot.runtime import Runtime
from bot.text import PRACTICE_MARK
from storage import assignments, outbox
from storage.models import Campaign, SlackDelivery

if TYPE_CHECKING:
    from bot.bridge.slack_outbox import Deliveries, SlackOutbox

SEND_NEXT_ACTION = "send_next"
PRACTICE_NOTE = (
    f"{PRACTICE_MARK}: these members are simulated. Nothing you send reaches a phone, "
    "and none of it counts in the campaign's figures. `/turnout practice end` clears them."
)


async def render(session: AsyncSession, rt: Runtime, user_id: str) -> dict[str, Any]:
    counts = await assignments.queue_counts(session, user_id)
    role = await role_of(session, rt, user_id)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Turnout"}},
    ]
    if not counts:
        blocks.append(
            _section(
                "You have no members to text yet. An organiser will assign you a batch, "
                "and it will appear here. To practise first, type `/turnout practice`: "
                "simulated members, the real scripts, no real texts."
            )
        )
    for campaign_id, figures in counts.items():
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            continue
        if campaign.practice:
            blocks.append({"type": "divider"})
            blocks.append(_context(PRACTICE_NOTE))
        if not await gate.has_agreed(session, user_id, campaign_id):
            blocks.extend(gate.gate_blocks(campaign))
            continue
        blocks.extend(await _queue(session, rt, user_id, campaign, figures))
    if role >= Role.ORGANISER:
        blocks.append({"type": "divider"})
        blocks.append(
            _context(
                "Organiser: `/turnout assign @user N [branch:NAME]`, `/turnout stats`, "
                "`/turnout help` for everything."
            )
        )
    return {"type": "home", "blocks": blocks}


async def _queue(
    session: AsyncSession, rt: Runtime, user_id: str, campaign: Campaign, figures: dict[str, int]
) -> list[dict[str, Any]]:
    left, texted, waiting = figures["left"], figures["texted"], figures["waiting"]
    spec = spec_of(campaign)
    recorded = (await assignments.outcome_counts(session, user_id)).get(campaign.id, {})
    outcomes = (
        " · ".join(f"{outcome_label(spec, key)} {n}" for key, n in sorted(recorded.items()))
        or "none yet"
    )
    out: list[dict[str, Any]] = [
        _section(
            f"{PRACTICE_MARK} · *{campaign.name}*" if campaign.practice else f"*{campaign.name}*"
        ),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Left to text*\n{left - figures['followups']}"},
                {"type": "mrkdwn", "text": f"*Replies waiting*\n{waiting}"},
                {"type": "mrkdwn", "text": f"*Texted so far*\n{texted}"},
                {"type": "mrkdwn", "text": f"*Outcomes so far*\n{outcomes}"},
                {"type": "mrkdwn", "text": f"*Follow-ups to send*\n{figures['followups']}"},
            ],
        },
    ]
    if campaign.state != "active":
        out.append(_context(f"This campaign is {campaign.state}: sending is stopped."))
        return out
    is_open, change = spec.texting_window(rt.now())
    nxt = await assignments.next_in_queue(session, user_id, campaign.id)
    if nxt is not None and is_open:
        out.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": SEND_NEXT_ACTION,
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Send next"},
                        "value": str(nxt.id),
                    }
                ],
            }
        )
    elif nxt is not None:
        out.append(
            _context(f":zzz: Texting hours are over. Sending opens {opening(spec, change)}.")
        )
    elif left == 0:
        out.append(_context("Your queue is empty. Well done! Ask an organiser for more."))
    return out


def opening(spec: CampaignSpec, when: Any) -> str:
    """'at 09:00 tomorrow (Europe/London)' for an aware datetime."""
    local = when.astimezone(ZoneInfo(spec.timezone))
    return f"at {local:%H:%M} on {local:%A %-d %B} ({spec.timezone})"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


async def refresh(rt: Runtime, user_id: str) -> None:
    """Queue a redraw of the user's App Home."""
    async with rt.db.transaction() as session:
        await outbox.enqueue(session, Kind.HOME, now=rt.now(), payload={"user": user_id})
    rt.wake()


async def tell(rt: Runtime, user_id: str, text: str, blocks: list[dict[str, Any]]) -> None:
    """Say something to a user in their DM with the app (answers to Home buttons)."""
    async with rt.db.transaction() as session:
        await outbox.enqueue(
            session,
            Kind.DM,
            now=rt.now(),
            payload={"user": user_id, "text": text, "blocks": blocks or None},
        )
    rt.wake()


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.HOME, publish)


async def publish(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """Draw the user's App Home as it stands now (Kind.HOME)."""
    user = str(delivery.payload["user"])
    async with out.rt.db.sessions() as session:
        if await outbox.superseded(session, delivery, "user"):
            return  # a later redraw is queued: a run of clicks draws App Home once
        view = await render(session, out.rt, user)
    await out.call("views.publish", user_id=user, view=view)

"""One click, one text: Send next renders the initial script and sends it.

The initial text's idempotency key is the conversation itself, so a double
click, a retried action or two windows can never text a member twice.
Everything that can refuse (the data-protection gate, texting hours, a
script field the member lacks, an opt-out) is checked here and again, for
hours and opt-out, when the text actually leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge.outbound import queue_sms
from bot.campaigns import gate
from bot.campaigns.campaign_file import CampaignSpec
from bot.campaigns.home import opening
from bot.campaigns.lifecycle import spec_of
from bot.intents import Kind
from bot.runtime import Runtime
from bot.scripts import templates
from bot.text import PRACTICE_MARK
from storage import assignments, conversations, optouts, outbox, users
from storage.models import Campaign, Conversation, Member, Message

SKIP_ACTION = "skip_member"


@dataclass
class SendOutcome:
    """What happened, in words for the activist, with blocks when there is a choice."""

    sent: bool
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    conversation_id: int | None = None


async def send_next(
    rt: Runtime, user_id: str, *, conversation_id: int | None = None, practice: bool = False
) -> SendOutcome:
    """Text `conversation_id`, or the next member in the activist's live queue (their
    practice queue with `practice`: `/turnout next` never mixes the two)."""
    first_name = await activist_first_name(rt, user_id)
    now = rt.now()
    async with rt.db.transaction() as session:
        scope = _Scope(conversation_id, None, practice)
        outcome = await _send_next(session, rt, user_id, scope, first_name, now)
        await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": user_id})
    rt.wake()
    return outcome


@dataclass
class _Scope:
    """Which member Send next means: this one, else the next of this campaign, else
    the next live one (or practice one)."""

    conversation_id: int | None
    campaign_id: int | None
    practice: bool


async def _send_next(
    session: AsyncSession,
    rt: Runtime,
    user_id: str,
    scope: _Scope,
    first_name: str,
    now: datetime,
) -> SendOutcome:
    while True:
        conversation = await _pick(session, user_id, scope)
        if isinstance(conversation, SendOutcome):
            return conversation
        campaign = await session.get(Campaign, conversation.campaign_id)
        member = await conversations.member_of(session, conversation)
        assert campaign is not None and member is not None
        if campaign.state != "active":
            return SendOutcome(False, f"*{campaign.name}* is {campaign.state}: nothing was sent.")
        if not await gate.has_agreed(session, user_id, campaign.id):
            return SendOutcome(
                False,
                "Please read and agree to the data-protection terms first.",
                gate.gate_blocks(campaign),
            )
        spec = spec_of(campaign)
        is_open, change = spec.texting_window(now)
        if not is_open:
            return SendOutcome(
                False,
                f":zzz: Outside texting hours: nothing was sent. Sending opens "
                f"{opening(spec, change)}.",
            )
        if await optouts.is_opted_out(session, conversation.phone):
            conversation.skipped_reason = "opted out"
            # The next of the same campaign: never from practice to live, or back.
            scope = _Scope(None, campaign.id, campaign.practice)
            continue
        followup = conversation.followup_script
        template = spec.scripts.get(followup, "") if followup else spec.initial
        try:
            body = templates.render(template, script_values(spec, member, first_name))
        except templates.MissingFields as missing:
            return _missing(conversation, member, missing.missing)
        key = (
            f"followup:{conversation.id}:{conversation.followup_round}"
            if followup
            else f"initial:{conversation.id}"
        )
        sms = await queue_sms(
            session,
            rt,
            conversation,
            kind="followup" if followup else "initial",
            body=body,
            author_id=None,
            key=key,
        )
        conversation.followup_script = conversation.followup_round = None
        conversation.initial_sent_at = conversation.initial_sent_at or now
        conversation.updated_at = now
        await outbox.enqueue(
            session, Kind.POST_SENT, now=now, conversation_id=conversation.id, message_id=sms.id
        )
        text = f"Texting {member.full_name}."
        if campaign.practice:
            text = f"{PRACTICE_MARK}: texting {member.full_name} (simulated; no real text)."
        return SendOutcome(True, text, conversation_id=conversation.id)


async def _pick(session: AsyncSession, user_id: str, scope: _Scope) -> Conversation | SendOutcome:
    if scope.conversation_id is None:
        found = await assignments.next_in_queue(
            session, user_id, scope.campaign_id, practice=scope.practice
        )
        if found is not None:
            return found
        if scope.practice:
            return SendOutcome(
                False, f"{PRACTICE_MARK}: everyone in your practice batch has been texted."
            )
        text = (
            "Your queue is empty: everyone assigned to you has been "
            "texted. Ask an organiser for more."
        )
        if await assignments.next_in_queue(session, user_id, practice=True) is not None:
            text += f" ({PRACTICE_MARK}: `/turnout practice next` texts your practice batch.)"
        return SendOutcome(False, text)
    found = await conversations.get(session, scope.conversation_id)
    if found is None or found.owner_id != user_id:
        return SendOutcome(False, "That member is no longer in your queue; nothing was sent.")
    if found.initial_sent_at is not None and found.followup_script is None:
        # A double click or a retried action: the first one already sent it.
        return SendOutcome(
            False, "Already texted: nothing more was sent.", conversation_id=found.id
        )
    return found


def _missing(conversation: Conversation, member: Member, missing: list[str]) -> SendOutcome:
    names = ", ".join(f"{{{m}}}" for m in missing)
    text = (
        f"Not sent: the script needs {names}, which {member.full_name} has no value for. "
        "Skip them, or ask an organiser to fix the member list."
    )
    return SendOutcome(
        False,
        text,
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": SKIP_ACTION,
                        "value": str(conversation.id),
                        "text": {"type": "plain_text", "text": "Skip this member"},
                    }
                ],
            },
        ],
        conversation.id,
    )


def script_values(
    spec: CampaignSpec, member: Member, activist_first_name: str
) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        str(k): (None if v is None else str(v)) for k, v in (member.fields or {}).items()
    }
    values.update(
        first_name=member.first_name,
        last_name=member.last_name,
        branch=member.branch,
        activist_first_name=activist_first_name,
        ballot_closes_date=spec.ballot_closes_date(),
    )
    return values


async def skip(rt: Runtime, user_id: str, conversation_id: int, reason: str) -> bool:
    now = rt.now()
    async with rt.db.transaction() as session:
        conversation = await conversations.get(session, conversation_id)
        if conversation is None or conversation.owner_id != user_id:
            return False
        if conversation.initial_sent_at is not None:
            return False
        conversation.skipped_reason = reason
        conversation.updated_at = now
        await outbox.enqueue(session, Kind.HOME, now=now, payload={"user": user_id})
    rt.wake()
    return True


async def activist_first_name(rt: Runtime, user_id: str) -> str:
    """From the cache, else users.info once (then cached)."""
    async with rt.db.sessions() as session:
        known = await users.get(session, user_id)
    if known is not None and known.first_name:
        return known.first_name
    info = await rt.slack.users_info(user=user_id)
    user = info.get("user") or {}
    profile = user.get("profile") or {}
    full = profile.get("real_name") or user.get("real_name") or ""
    first = (
        profile.get("first_name")
        or (full.split()[0] if full else "")
        or (profile.get("display_name") or "a fellow member")
    )
    async with rt.db.transaction() as session:
        await users.upsert(session, user_id, now=rt.now(), name=full or first, first_name=first)
    return str(first)


async def texting_hours_check(
    session: AsyncSession, message: Message, conversation: Conversation
) -> tuple[str, datetime | None] | None:
    """The send-time check: campaign texts wait for texting hours."""
    if message.kind not in ("initial", "followup") or conversation.campaign_id is None:
        return None
    campaign = await session.get(Campaign, conversation.campaign_id)
    if campaign is None:
        return None
    spec = spec_of(campaign)
    is_open, change = spec.texting_window(message.claimed_at or message.created_at)
    if is_open:
        return None
    return f"held until texting hours open {opening(spec, change)}", change


__all__ = ["SKIP_ACTION", "SendOutcome", "send_next", "skip", "texting_hours_check"]

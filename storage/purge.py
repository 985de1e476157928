"""Erasing a campaign's personal data in place, keeping the rows that make its figures.

Rows are blanked rather than deleted: conversations, messages and outcome
events still count (texts sent, delivered, replies, outcomes per branch)
once nobody can tell whose they were. A phone number is replaced with a
token naming the row (``purged:m<member id>``, ``purged:c<conversation id>``),
which keeps the unique constraints satisfied and identifies no one.

The global opt-out list is not touched here: it is what keeps STOP honoured
if a number turns up again in a later campaign's roster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Update, cast, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEntry,
    Conversation,
    ConversationThread,
    Member,
    Message,
    PendingImport,
    ReplacementRequest,
    SlackDelivery,
)

PURGED = "purged:"
PURGE_ACTION = "purge"


@dataclass(frozen=True, slots=True)
class Erased:
    """How many rows of each kind had their personal data blanked."""

    members: int
    conversations: int
    messages: int
    replacement_requests: int
    pending_imports: int
    slack_deliveries: int


@dataclass(frozen=True, slots=True)
class Thread:
    """A Slack thread the app started for a conversation (member card or Claim card)."""

    conversation_id: int
    channel: str
    ts: str


async def outcome_counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    """Conversations per latest outcome key, e.g. {"voted": 812, "replacement": 40}."""
    result = await session.execute(
        select(Conversation.outcome, func.count())
        .where(Conversation.campaign_id == campaign_id, Conversation.outcome.is_not(None))
        .group_by(Conversation.outcome)
        .order_by(Conversation.outcome)
    )
    return {str(key): int(n) for key, n in result.all()}


async def replacement_counts(session: AsyncSession, campaign_id: int) -> tuple[int, int]:
    """(replacement-ballot requests, of which processed)."""
    result = await session.execute(
        select(func.count(), func.count(ReplacementRequest.processed_at)).where(
            ReplacementRequest.campaign_id == campaign_id
        )
    )
    requested, processed = result.one()
    return int(requested), int(processed)


async def conversation_count(session: AsyncSession, campaign_id: int) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.campaign_id == campaign_id)
    )
    return int(result.scalar_one())


async def earlier_purges(session: AsyncSession, campaign_id: int) -> list[AuditEntry]:
    """The audit log's purge records of the campaign, oldest first."""
    result = await session.execute(
        select(AuditEntry).where(AuditEntry.action == PURGE_ACTION).order_by(AuditEntry.at)
    )
    return [e for e in result.scalars() if e.detail.get("campaign_id") == campaign_id]


async def threads(session: AsyncSession, campaign_id: int) -> list[Thread]:
    """Every Slack thread that has stood for one of the campaign's conversations."""
    result = await session.execute(
        select(
            ConversationThread.conversation_id,
            ConversationThread.channel,
            ConversationThread.thread_ts,
        )
        .join(Conversation, Conversation.id == ConversationThread.conversation_id)
        .where(Conversation.campaign_id == campaign_id)
        .order_by(ConversationThread.id)
    )
    return [Thread(int(c), str(channel), str(ts)) for c, channel, ts in result.all()]


async def erase(session: AsyncSession, campaign_id: int, now: datetime) -> Erased:
    """Blank every piece of the campaign's personal data; run it inside one transaction.

    Slack deliveries still to run for these conversations are cancelled, as
    they would only post blanks; one being sent right now is left to finish.
    """
    conversation_ids = select(Conversation.id).where(Conversation.campaign_id == campaign_id)
    message_ids = select(Message.id).where(Message.conversation_id.in_(conversation_ids))
    members = await _rowcount(
        session,
        update(Member)
        .where(Member.campaign_id == campaign_id)
        .values(
            first_name="",
            last_name="",
            phone=literal(PURGED + "m").concat(cast(Member.id, String)),
            membership_no=None,
            fields={},
            updated_at=now,
        ),
    )
    conversations = await _rowcount(
        session,
        update(Conversation)
        .where(Conversation.campaign_id == campaign_id)
        .values(phone=literal(PURGED + "c").concat(cast(Conversation.id, String)), updated_at=now),
    )
    messages = await _rowcount(
        session,
        update(Message)
        .where(Message.conversation_id.in_(conversation_ids))
        .values(body="", updated_at=now),
    )
    replacements = await _rowcount(
        session,
        update(ReplacementRequest)
        .where(ReplacementRequest.campaign_id == campaign_id)
        .values(new_address=None, notes=None),
    )
    imports = await _rowcount(
        session,
        update(PendingImport).where(PendingImport.campaign_id == campaign_id).values(content=b""),
    )
    of_campaign = or_(
        SlackDelivery.conversation_id.in_(conversation_ids),
        SlackDelivery.message_id.in_(message_ids),
    )
    await _rowcount(
        session,
        update(SlackDelivery)
        .where(of_campaign, SlackDelivery.status.in_(("pending", "held")))
        .values(status="cancelled", last_error="campaign purged", done_at=now),
    )
    deliveries = await _rowcount(
        session, update(SlackDelivery).where(of_campaign).values(payload={})
    )
    return Erased(
        members=members,
        conversations=conversations,
        messages=messages,
        replacement_requests=replacements,
        pending_imports=imports,
        slack_deliveries=deliveries,
    )


async def _rowcount(session: AsyncSession, statement: Update) -> int:
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]

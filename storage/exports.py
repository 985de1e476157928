"""The rows of the organisers' CSV exports, read in batches, and their bookkeeping.

Each export is read by keyset pagination in batches of ``BATCH`` rows, one
short session per batch: a national campaign's 100,000 rows never sit in
memory, and no transaction is held open while a file is written and uploaded
(on SQLite every transaction takes the write lock, which would stall the
outboxes for the length of the export). The upper bound of the keys is
fixed when the export starts, so rows added meanwhile wait for the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Select,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.db import Database
from storage.models import (
    AuditEntry,
    Conversation,
    Member,
    Message,
    OutcomeEvent,
    ReplacementRequest,
    SlackUser,
)

BATCH = 1000
# The conversations export reads whole conversations, a few texts each.
CONVERSATIONS_PER_BATCH = 200
EXPORT_ACTION = "export"


class ReplacementRow(NamedTuple):
    request_id: int
    requested_at: datetime
    member: str
    membership_no: str | None
    phone: str | None
    branch: str | None
    address_confirmed: bool
    new_address: str | None
    notes: str | None
    requested_by: str
    processed_at: datetime | None


class OutcomeRow(NamedTuple):
    conversation_id: int
    member: str
    membership_no: str | None
    phone: str
    branch: str | None
    outcome: str | None
    outcome_set_by: str | None
    outcome_set_at: datetime | None
    owner: str | None


class MessageRow(NamedTuple):
    conversation_id: int
    member: str
    branch: str | None
    direction: str
    kind: str
    body: str
    status: str
    at: datetime
    author: str | None


def _full_name(first: str | None, last: str | None) -> str:
    return " ".join(p for p in (first, last) if p)


def _who(user_id: str | None, name: str | None) -> str | None:
    """A Slack user as organisers know them: their name, or the id if never seen."""
    return name or user_id


async def replacements(
    db: Database, campaign_id: int, *, include_processed: bool = False
) -> AsyncIterator[list[ReplacementRow]]:
    """The campaign's replacement-ballot requests, oldest first, in batches."""
    scope = [ReplacementRequest.campaign_id == campaign_id]
    if not include_processed:
        scope.append(ReplacementRequest.processed_at.is_(None))
    requester = aliased(SlackUser)
    query = (
        select(
            ReplacementRequest.id,
            ReplacementRequest.created_at,
            Member.first_name,
            Member.last_name,
            Member.membership_no,
            Member.phone,
            Member.branch,
            ReplacementRequest.address_confirmed,
            ReplacementRequest.new_address,
            ReplacementRequest.notes,
            ReplacementRequest.requested_by,
            requester.name,
            ReplacementRequest.processed_at,
        )
        .outerjoin(Member, Member.id == ReplacementRequest.member_id)
        .outerjoin(requester, requester.user_id == ReplacementRequest.requested_by)
    )
    upto = await _max_id(db, select(func.max(ReplacementRequest.id)).where(*scope))
    after = 0
    while upto is not None and after < upto:
        async with db.sessions() as session:
            result = await session.execute(
                query.where(*scope, ReplacementRequest.id > after, ReplacementRequest.id <= upto)
                .order_by(ReplacementRequest.id)
                .limit(BATCH)
            )
            batch = [
                ReplacementRow(
                    rid,
                    at,
                    _full_name(first, last),
                    number,
                    phone,
                    branch,
                    confirmed,
                    address,
                    notes,
                    _who(by, name) or "",
                    processed,
                )
                for (
                    rid,
                    at,
                    first,
                    last,
                    number,
                    phone,
                    branch,
                    confirmed,
                    address,
                    notes,
                    by,
                    name,
                    processed,
                ) in result
            ]
        if not batch:
            return
        yield batch
        after = batch[-1].request_id


async def outcomes(db: Database, campaign_id: int) -> AsyncIterator[list[OutcomeRow]]:
    """One row per conversation of the campaign: the member and their latest outcome."""
    owner = aliased(SlackUser)
    query = (
        select(
            Conversation.id,
            Member.first_name,
            Member.last_name,
            Member.membership_no,
            Conversation.phone,
            Member.branch,
            Conversation.outcome,
            Conversation.owner_id,
            owner.name,
        )
        .outerjoin(Member, Member.id == Conversation.member_id)
        .outerjoin(owner, owner.user_id == Conversation.owner_id)
    )
    scope = Conversation.campaign_id == campaign_id
    upto = await _max_id(db, select(func.max(Conversation.id)).where(scope))
    after = 0
    while upto is not None and after < upto:
        async with db.sessions() as session:
            result = await session.execute(
                query.where(scope, Conversation.id > after, Conversation.id <= upto)
                .order_by(Conversation.id)
                .limit(BATCH)
            )
            found = list(result)
            latest = await _latest_outcome_events(session, [row[0] for row in found])
        if not found:
            return
        batch = []
        for cid, first, last, number, phone, branch, outcome, owner_id, owner_name in found:
            set_by, set_at = latest.get(cid, (None, None))
            batch.append(
                OutcomeRow(
                    conversation_id=cid,
                    member=_full_name(first, last),
                    membership_no=number,
                    phone=phone,
                    branch=branch,
                    outcome=outcome,
                    outcome_set_by=set_by,
                    outcome_set_at=set_at,
                    owner=_who(owner_id, owner_name),
                )
            )
        yield batch
        after = batch[-1].conversation_id


async def _latest_outcome_events(
    session: AsyncSession, conversation_ids: Sequence[int]
) -> dict[int, tuple[str | None, datetime]]:
    """conversation id -> (who set its latest outcome, when)."""
    if not conversation_ids:
        return {}
    newest = (
        select(func.max(OutcomeEvent.id))
        .where(OutcomeEvent.conversation_id.in_(conversation_ids))
        .group_by(OutcomeEvent.conversation_id)
    )
    result = await session.execute(
        select(OutcomeEvent.conversation_id, OutcomeEvent.user_id, SlackUser.name, OutcomeEvent.at)
        .outerjoin(SlackUser, SlackUser.user_id == OutcomeEvent.user_id)
        .where(OutcomeEvent.id.in_(newest))
    )
    return {cid: (_who(uid, name), at) for cid, uid, name, at in result}


async def messages(db: Database, campaign_id: int) -> AsyncIterator[list[MessageRow]]:
    """Every text of the campaign, conversation by conversation, in the order sent."""
    author = aliased(SlackUser)
    query = (
        select(
            Message.conversation_id,
            Member.first_name,
            Member.last_name,
            Member.branch,
            Message.direction,
            Message.kind,
            Message.body,
            Message.status,
            Message.created_at,
            Message.author_id,
            author.name,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Member, Member.id == Conversation.member_id)
        .outerjoin(author, author.user_id == Message.author_id)
        .order_by(Message.conversation_id, Message.id)
    )
    scope = Conversation.campaign_id == campaign_id
    upto = await _max_id(
        db,
        select(func.max(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(scope),
    )
    after = 0
    while upto is not None:
        # A batch is the texts of the next conversations: a conversation holds a
        # handful, so this stays near BATCH rows and reads by the conversation index.
        async with db.sessions() as session:
            chosen = list(
                (
                    await session.execute(
                        select(Conversation.id)
                        .where(scope, Conversation.id > after)
                        .order_by(Conversation.id)
                        .limit(CONVERSATIONS_PER_BATCH)
                    )
                ).scalars()
            )
            if not chosen:
                return
            result = await session.execute(
                query.where(Message.conversation_id.in_(chosen), Message.id <= upto)
            )
            batch = [
                MessageRow(
                    cid,
                    _full_name(first, last),
                    branch,
                    direction,
                    kind,
                    body,
                    status,
                    at,
                    _who(author_id, name) if direction == "out" else "member",
                )
                for (
                    cid,
                    first,
                    last,
                    branch,
                    direction,
                    kind,
                    body,
                    status,
                    at,
                    author_id,
                    name,
                ) in result
            ]
        if batch:
            yield batch
        after = chosen[-1]


async def _max_id(db: Database, query: Select[Any]) -> int | None:
    """The largest key the export will read (None: nothing to export)."""
    async with db.sessions() as session:
        value = (await session.execute(query)).scalar()
    return int(value) if value is not None else None


# -- marking replacement requests processed ------------------------------------------


async def mark_processed(
    session: AsyncSession, campaign_id: int, *, upto: int, user_id: str, now: datetime
) -> int:
    """Mark the campaign's unprocessed requests with ids up to ``upto``; returns how many."""
    result = await session.execute(
        update(ReplacementRequest)
        .where(
            ReplacementRequest.campaign_id == campaign_id,
            ReplacementRequest.id <= upto,
            ReplacementRequest.processed_at.is_(None),
        )
        .values(processed_at=now, processed_by=user_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _detail(name: str) -> Any:
    return type_coerce(AuditEntry.detail, JSON)[name]


async def export_entry(session: AsyncSession, entry_id: int) -> AuditEntry | None:
    """The audit entry of one export (what the Mark-processed button names)."""
    entry = await session.get(AuditEntry, entry_id)
    return entry if entry is not None and entry.action == EXPORT_ACTION else None


async def export_of_delivery(session: AsyncSession, delivery_id: int) -> AuditEntry | None:
    """The export a Slack delivery already made, if it ran before (a retried delivery)."""
    result = await session.execute(
        select(AuditEntry)
        .where(
            AuditEntry.action == EXPORT_ACTION,
            _detail("delivery").as_integer() == delivery_id,
        )
        .limit(1)
    )
    entry: AuditEntry | None = result.scalar_one_or_none()
    return entry


async def latest_export(session: AsyncSession, campaign_id: int, what: str) -> AuditEntry | None:
    """The campaign's newest export of ``what``."""
    result = await session.execute(
        select(AuditEntry)
        .where(
            AuditEntry.action == EXPORT_ACTION,
            _detail("campaign_id").as_integer() == campaign_id,
            _detail("what").as_string() == what,
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    entry: AuditEntry | None = result.scalar_one_or_none()
    return entry

"""Queries on a campaign's members, above all the bulk upsert of an import.

A national roster is tens of thousands of rows, and an organiser re-imports
it whenever the membership system is updated, so the upsert reads the
campaign's members once, decides every row in memory and writes in a few
executemany statements instead of a query per row. It never commits: the
caller's transaction makes the import all-or-nothing. Opt-outs live in their
own global table and conversations hold their own phone, so nothing here
can undo an opt-out or disturb a conversation in progress.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import optouts
from storage.models import Member

__all__ = [
    "ApplyResult",
    "RosterRow",
    "RowConflict",
    "apply_roster",
    "count_for_campaign",
    "opted_out_phones",
]

CHUNK_SIZE = 1000
"""Rows per executemany: bounded memory, and progress an organiser can watch."""

IN_LIST_LIMIT = 500
"""Values per IN (...): well inside SQLite's and asyncpg's parameter limits."""

_PENDING = -1  # the holder of a phone that a row yet to be inserted takes


class RosterRow(Protocol):
    """What an import row must provide (:class:`bot.importer.MemberRow` does).

    A None attribute means the file has no such column: the stored value is
    kept. A custom field given as "" means the cell was blank: it is removed.
    """

    @property
    def phone(self) -> str: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def membership_no(self) -> str | None: ...
    @property
    def fields(self) -> Mapping[str, str]: ...
    @property
    def row_number(self) -> int: ...


@dataclass(frozen=True, slots=True)
class RowConflict:
    """A row the database state does not allow, reported instead of failing the import."""

    row_number: int
    reason: str


@dataclass(slots=True)
class ApplyResult:
    """Counts of what the upsert did, and the rows it refused (not written)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: list[RowConflict] = field(default_factory=list)


@dataclass(slots=True)
class _Existing:
    id: int
    phone: str
    membership_no: str | None
    first_name: str
    last_name: str
    branch: str
    fields: dict[str, Any]


async def apply_roster(
    session: AsyncSession,
    campaign_id: int,
    rows: Sequence[RosterRow],
    now: datetime,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ApplyResult:
    """Create or update the campaign's members from ``rows``, in the caller's transaction.

    A row is the existing member with its membership number, if it has one
    that a member of the campaign has, else the member with its phone. A row
    that would take another member's phone, or that is the same member as an
    earlier row, is reported in ``conflicts`` and not written.
    ``progress(rows_done, rows_total)`` is called with (0, total) first, then
    as chunks are written; unchanged rows need no writing and are not counted.
    """
    existing = await _load(session, campaign_id)
    plan = _Plan(existing)
    for row in rows:
        plan.decide(row, campaign_id, now)

    done, total = 0, len(plan.updates) + len(plan.inserts)
    if progress is not None:
        progress(0, total)
    # Updates first, in file order, so a phone one member gives up is free
    # before the row that takes it is written (the plan checked that order).
    for chunk in _chunks(plan.updates, CHUNK_SIZE):
        await session.execute(update(Member), chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    for chunk in _chunks(plan.inserts, CHUNK_SIZE):
        await session.execute(insert(Member), chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return ApplyResult(
        created=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        conflicts=plan.conflicts,
    )


class _Plan:
    """Decides, row by row and in memory, what each import row does."""

    def __init__(self, existing: list[_Existing]) -> None:
        self.by_phone = {m.phone: m for m in existing}
        self.by_number = {m.membership_no: m for m in existing if m.membership_no}
        # Who holds each phone as the plan stands, for the unique constraint.
        self.holder: dict[str, int] = {m.phone: m.id for m in existing}
        self.claimed: dict[int, int] = {}  # member id -> row number that matched it
        self.updates: list[dict[str, Any]] = []
        self.inserts: list[dict[str, Any]] = []
        self.unchanged = 0
        self.conflicts: list[RowConflict] = []

    def decide(self, row: RosterRow, campaign_id: int, now: datetime) -> None:
        member = self.by_number.get(row.membership_no) if row.membership_no else None
        matched_on = "membership number"
        if member is None:
            member, matched_on = self.by_phone.get(row.phone), "phone number"
        if member is None:
            self._insert(row, campaign_id, now)
            return
        if member.id in self.claimed:
            self._conflict(
                row,
                f"is the same member (by {matched_on}) as row {self.claimed[member.id]}",
            )
            return
        if row.phone != member.phone and self.holder.get(row.phone) is not None:
            self._conflict(row, "its phone number is another member's in this campaign")
            return
        self.claimed[member.id] = row.row_number
        values = _updated_values(member, row)
        if values is None:
            self.unchanged += 1
            return
        if row.phone != member.phone:
            del self.holder[member.phone]
            self.holder[row.phone] = member.id
        self.updates.append({"id": member.id, **values, "updated_at": now})

    def _insert(self, row: RosterRow, campaign_id: int, now: datetime) -> None:
        if self.holder.get(row.phone) is not None:
            self._conflict(row, "its phone number is another member's in this campaign")
            return
        self.holder[row.phone] = _PENDING
        self.inserts.append(
            {
                "campaign_id": campaign_id,
                "phone": row.phone,
                "first_name": row.first_name or "",
                "last_name": row.last_name or "",
                "branch": row.branch or "",
                "membership_no": row.membership_no,
                "fields": {name: value for name, value in row.fields.items() if value},
                "created_at": now,
                "updated_at": now,
            }
        )

    def _conflict(self, row: RosterRow, reason: str) -> None:
        self.conflicts.append(RowConflict(row.row_number, reason))


def _updated_values(member: _Existing, row: RosterRow) -> dict[str, Any] | None:
    """The member's columns after applying ``row``, or None if nothing changes."""
    fields = dict(member.fields)
    for name, value in row.fields.items():
        if value:
            fields[name] = value
        else:
            fields.pop(name, None)
    values: dict[str, Any] = {
        "phone": row.phone,
        "first_name": member.first_name if row.first_name is None else row.first_name,
        "last_name": member.last_name if row.last_name is None else row.last_name,
        "branch": member.branch if row.branch is None else row.branch,
        "membership_no": row.membership_no or member.membership_no,
        "fields": fields,
    }
    current = {
        "phone": member.phone,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "branch": member.branch,
        "membership_no": member.membership_no,
        "fields": member.fields,
    }
    return None if values == current else values


async def _load(session: AsyncSession, campaign_id: int) -> list[_Existing]:
    result = await session.execute(
        select(
            Member.id,
            Member.phone,
            Member.membership_no,
            Member.first_name,
            Member.last_name,
            Member.branch,
            Member.fields,
        ).where(Member.campaign_id == campaign_id)
    )
    return [_Existing(*row) for row in result]


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def opted_out_phones(session: AsyncSession, phones: Sequence[str]) -> set[str]:
    """Which of ``phones`` are on the global opt-out list (any number of phones)."""
    unique = list(dict.fromkeys(phones))
    found: set[str] = set()
    for start in range(0, len(unique), IN_LIST_LIMIT):
        found |= await optouts.opted_out_among(session, unique[start : start + IN_LIST_LIMIT])
    return found


async def count_for_campaign(session: AsyncSession, campaign_id: int) -> int:
    """How many members the campaign has (opted-out ones included)."""
    result = await session.execute(
        select(func.count()).select_from(Member).where(Member.campaign_id == campaign_id)
    )
    return int(result.scalar_one())

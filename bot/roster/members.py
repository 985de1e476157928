"""Importing a member roster into a campaign, all or nothing.

The roster is read and checked in full first (:mod:`bot.roster.importer`), then
applied in one transaction, so an import that fails part-way leaves the
campaign exactly as it was and re-running it is always safe. The report is
what an organiser acts on: which rows to fix and why, which rows were
merged, who is already opted out, and whether the scripts have every field
they need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.campaign_file import CampaignFileError
from bot.campaigns.lifecycle import spec_of
from bot.roster.importer import DuplicateGroup, RejectedRow, RosterError, RosterPlan, read_roster
from bot.scripts.templates import fields_in
from storage import campaigns, members
from storage.db import Database
from storage.models import Campaign

__all__ = ["TURNOUT_FIELDS", "ImportReport", "RosterError", "import_roster"]

TURNOUT_FIELDS = frozenset({"activist_first_name", "ballot_closes_date"})
"""Template fields Turnout fills in itself, so no roster column need provide them."""

Progress = Callable[[int, int], None]

_T = TypeVar("_T")


@dataclass(slots=True)
class ImportReport:
    """What an import did, or in strict mode why it did nothing."""

    campaign: str
    rows: int
    importable: int
    rejected: list[RejectedRow]
    duplicates: list[DuplicateGroup]
    known_fields: set[str]
    custom_fields: set[str]
    notes: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    already_opted_out: int = 0
    strict: bool = False
    refused: bool = False
    """True when strict mode refused the file: nothing was written."""
    script_fields_missing: set[str] = field(default_factory=set)
    """Fields the campaign's scripts use that no column of this file provides."""

    @property
    def duplicates_merged(self) -> int:
        """Rows folded into an earlier row of the same member."""
        return sum(len(group.row_numbers) - 1 for group in self.duplicates)

    def missing_fields(self, script_fields: set[str]) -> set[str]:
        """The fields ``script_fields`` uses that no column of this roster provides."""
        return script_fields - self.known_fields - self.custom_fields - TURNOUT_FIELDS

    def summary(self, limit: int = 50) -> str:
        """The report for an organiser, listing at most ``limit`` rejected rows."""
        lines = [self._headline()]
        if not self.refused:
            lines.append(
                f"  {self.importable:,} {_plural(self.importable, 'member')}: "
                f"{self.created:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged"
            )
        if self.rejected:
            lines.append(f"  {len(self.rejected):,} {_plural(len(self.rejected), 'row')} rejected")
        if self.duplicates:
            lines.append(
                f"  {self.duplicates_merged:,} duplicate "
                f"{_plural(self.duplicates_merged, 'row')} merged into "
                f"{len(self.duplicates):,} {_plural(len(self.duplicates), 'member')}"
            )
        lines.append(f"  Already opted out: {self.already_opted_out:,} — they will not be texted")
        if self.custom_fields:
            lines.append(f"  Custom fields: {', '.join(sorted(self.custom_fields))}")
        lines.extend(f"  Note: {note}" for note in self.notes)
        if self.script_fields_missing:
            names = ", ".join(f"{{{n}}}" for n in sorted(self.script_fields_missing))
            lines.append(
                f"  Warning: the campaign's scripts use {names}, which no column of this file "
                "provides: those scripts cannot be sent to these members"
            )
        if self.rejected:
            lines.append("Rejected rows:")
            lines.extend(_listed(self.rejected, limit, _rejected_line))
        if self.duplicates:
            lines.append("Duplicates merged (the later row's values win):")
            lines.extend(_listed(self.duplicates, limit, _duplicate_line))
        return "\n".join(lines)

    def _headline(self) -> str:
        read = f"{self.rows:,} {_plural(self.rows, 'row')} read"
        if self.refused:
            return (
                f"Nothing was imported into {self.campaign}: {read}, and in strict mode "
                "any rejected row refuses the whole file. Fix the rows below and import again."
            )
        return f"Imported into {self.campaign}: {read}."


async def import_roster(
    db: Database,
    campaign: str | int,
    data: bytes | str,
    *,
    region: str,
    strict: bool = False,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Read a roster and create or update the members of ``campaign`` (slug, or id).

    Every importable row is written in one transaction, or none is. With
    ``strict`` any rejected row refuses the whole file. Raises
    :class:`RosterError` for an unknown campaign or a file that cannot be
    read (no phone column, not CSV). ``progress(done, total)`` follows two
    stages, reading and then saving; each starts with a (0, total) call.
    """
    # Look the campaign up before the slow read, so a mistyped slug fails at once.
    async with db.sessions() as session:
        target = await _find_campaign(session, campaign)
        if target is None:
            raise RosterError(await _unknown_campaign(session, campaign))
        if target.practice:
            raise RosterError(
                f"{target.slug} is a practice campaign: its members are simulated, so a "
                f"member list goes to {target.practice_of} instead"
            )
    plan = await asyncio.to_thread(read_roster, data, region=region, progress=progress)
    try:
        async with db.transaction() as session:
            found = await _find_campaign(session, campaign)
            if found is None:
                raise RosterError(await _unknown_campaign(session, campaign))
            report = _report(found.slug, plan, strict)
            report.script_fields_missing = report.missing_fields(_script_fields(found))
            phones = [row.phone for row in plan.rows]
            report.already_opted_out = len(await members.opted_out_phones(session, phones))
            if strict and plan.rejected:
                report.refused = True
                return report
            result = await members.apply_roster(
                session, found.id, plan.rows, now, progress=progress
            )
            report.created, report.updated = result.created, result.updated
            report.unchanged = result.unchanged
            if result.conflicts:
                conflicts = [RejectedRow(c.row_number, c.reason) for c in result.conflicts]
                report.rejected = sorted(
                    [*report.rejected, *conflicts], key=lambda rejected: rejected.row_number
                )
                report.importable -= len(conflicts)
                if strict:
                    report.refused = True
                    raise _Refused(report)  # roll back what apply_roster wrote
            return report
    except _Refused as refused:
        return refused.report


def _script_fields(campaign: Campaign) -> set[str]:
    """Every field the campaign's templates use (none if its settings are unreadable)."""
    try:
        spec = spec_of(campaign)
    except CampaignFileError:
        return set()
    texts = [spec.initial, *spec.scripts.values()]
    return {name for text in texts for name in fields_in(text)}


class _Refused(Exception):
    """Strict mode found a conflict after writing began: roll the transaction back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("strict import refused")
        self.report = report


def _report(campaign: str, plan: RosterPlan, strict: bool) -> ImportReport:
    return ImportReport(
        campaign=campaign,
        rows=plan.total_rows,
        importable=len(plan.rows),
        rejected=list(plan.rejected),
        duplicates=list(plan.duplicates),
        known_fields=set(plan.known_fields),
        custom_fields=set(plan.custom_fields),
        notes=list(plan.notes),
        strict=strict,
    )


async def _find_campaign(session: AsyncSession, campaign: str | int) -> Campaign | None:
    if isinstance(campaign, int):
        return await session.get(Campaign, campaign)
    return await campaigns.get_by_slug(session, campaign)


async def _unknown_campaign(session: AsyncSession, campaign: str | int) -> str:
    slugs = [known.slug for known in await campaigns.all(session)]
    if not slugs:
        return (
            f"there is no campaign {campaign!r}, nor any other yet: "
            "load one with `turnout campaign load FILE.yml` first"
        )
    return f"there is no campaign {campaign!r}; the campaigns are: {', '.join(slugs)}"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _rejected_line(rejected: RejectedRow) -> str:
    snippet = f" ({rejected.snippet})" if rejected.snippet else ""
    return f"  row {rejected.row_number}: {rejected.reason}{snippet}"


def _duplicate_line(group: DuplicateGroup) -> str:
    numbers = ", ".join(str(n) for n in group.row_numbers)
    return f"  rows {numbers}: same {group.matched_on}"


def _listed(items: list[_T], limit: int, line: Callable[[_T], str]) -> list[str]:
    lines = [line(item) for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"  … and {len(items) - limit:,} more")
    return lines

"""Reading a member roster (CSV) into a plan of what to import.

Rosters are exports from whatever membership system a union runs, usually
re-saved in Excel on the way: any encoding Excel writes, commas or
semicolons, headers spelt "Mobile Number" or "Surname", phones in every
format people type, the same member exported twice. This module is pure (no
database) so that the whole file is checked, and every bad row explained by
the row number the organiser sees in their spreadsheet, before anything is
written; :mod:`bot.roster.members` then applies the plan in one transaction.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot import phones

__all__ = [
    "FIELD_COLUMNS",
    "DuplicateGroup",
    "MemberRow",
    "RejectedRow",
    "RosterError",
    "RosterPlan",
    "read_roster",
    "snake_case",
]

PHONE_ALIASES = (
    "phone",
    "mobile",
    "mobile_phone",
    "mobile_number",
    "mobile_no",
    "cell",
    "cell_phone",
    "cellphone",
    "phone_number",
    "phone_no",
    "telephone",
)
"""Headers (snake_cased) read as the phone column, in order of preference."""

FIELD_COLUMNS: dict[str, frozenset[str]] = {
    "first_name": frozenset({"first_name", "firstname", "forename", "forenames", "given_name"}),
    "last_name": frozenset({"last_name", "lastname", "surname", "family_name"}),
    "branch": frozenset({"branch", "branch_name"}),
    "membership_no": frozenset(
        {"membership_no", "membership_number", "membership_id", "member_no", "member_number"}
    ),
}
"""The member attributes Turnout knows, and the headers that provide each."""

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[\W_]+")
_DELIMITERS = (",", ";", "\t")
_XLSX_MAGIC = b"PK\x03\x04"
_SNIPPET_LENGTH = 20
_PROGRESS_EVERY = 1000

Progress = Callable[[int, int], None]


class RosterError(Exception):
    """A problem that stops the whole import, in words an organiser can act on."""


@dataclass(slots=True)
class MemberRow:
    """One member as the file describes them, ready to be stored.

    A known attribute is None when the file has no such column, so that
    importing a file without, say, a branch column leaves branches alone; an
    empty string means the cell was blank. Custom fields keep blank cells as
    "" for the same reason: the column says the value is now empty.
    """

    phone: str
    first_name: str | None = None
    last_name: str | None = None
    branch: str | None = None
    membership_no: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    row_number: int = 0
    """The spreadsheet row (the header is row 1) the member was first read from."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that cannot be imported, and why."""

    row_number: int
    reason: str
    snippet: str = ""
    """The phone cell with all but its last digits hidden, safe to print and log."""


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Rows that describe the same member and were merged into one."""

    row_numbers: tuple[int, ...]
    matched_on: str
    """"phone number", "membership number", or both."""


@dataclass(slots=True)
class RosterPlan:
    """Everything read from a roster: who to import, who not and why."""

    rows: list[MemberRow]
    rejected: list[RejectedRow]
    duplicates: list[DuplicateGroup]
    columns: list[str]
    """The header cells as written in the file."""
    phone_column: str
    known_fields: set[str]
    """Which of first_name, last_name, branch and membership_no the file has."""
    custom_fields: set[str]
    """Every other column, by the snake_case name scripts use: {department}."""
    total_rows: int
    """Rows below the header that are not blank."""
    notes: list[str] = field(default_factory=list)

    @property
    def duplicates_merged(self) -> int:
        """Rows folded into an earlier row of the same member."""
        return sum(len(group.row_numbers) - 1 for group in self.duplicates)


def snake_case(header: str) -> str:
    """``"Mobile Number"``, ``"mobileNumber"``, ``" MOBILE_NUMBER "`` → ``mobile_number``."""
    text = unicodedata.normalize("NFKC", header).strip()
    text = _CAMEL_BOUNDARY.sub("_", text)
    return _NOT_WORD.sub("_", text).strip("_").lower()


def read_roster(data: bytes | str, *, region: str, progress: Progress | None = None) -> RosterPlan:
    """Read a roster CSV; raise :class:`RosterError` if it cannot be read at all.

    ``region`` is the country assumed for national phone numbers. Bad rows do
    not raise: they are listed in the plan's ``rejected`` with their reason.
    ``progress(rows_done, rows_total)`` is called with (0, total) first, then
    as rows are checked.
    """
    text, notes = _decode(data)
    records = _records(text)
    header_index = next((i for i, cells in enumerate(records) if _has_values(cells)), None)
    if header_index is None:
        raise RosterError("the file is empty: it needs a header row and a row per member")
    header = records[header_index]
    layout = _Layout.from_header(header, notes)
    body = [(i + 1, cells) for i, cells in enumerate(records) if i > header_index]
    body = [(number, cells) for number, cells in body if _has_values(cells)]

    merger = _Merger()
    rejected: list[RejectedRow] = []
    if progress is not None:
        progress(0, len(body))
    for done, (row_number, cells) in enumerate(body, start=1):
        outcome = layout.read(row_number, cells, region)
        if isinstance(outcome, MemberRow):
            conflict = merger.add(outcome)
            if conflict is not None:
                rejected.append(conflict)
        else:
            rejected.append(outcome)
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == len(body)):
            progress(done, len(body))
    if any(
        _has_values([c for i, c in enumerate(cells) if i in layout.unnamed]) for _, cells in body
    ):
        columns = ", ".join(str(i + 1) for i in layout.unnamed)
        label = "Column" if len(layout.unnamed) == 1 else "Columns"
        notes.append(f"{label} {columns} has no heading, so its values were not imported.")
    return RosterPlan(
        rows=merger.rows,
        rejected=rejected,
        duplicates=merger.groups(),
        columns=[cell.strip() for cell in header],
        phone_column=header[layout.phone].strip(),
        known_fields=set(layout.known),
        custom_fields=set(layout.custom),
        total_rows=len(body),
        notes=notes,
    )


def _decode(data: bytes | str) -> tuple[str, list[str]]:
    """The file's text, trying what membership systems and Excel actually write."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff"), []
    if data.startswith(_XLSX_MAGIC):
        raise RosterError("this is an Excel workbook, not CSV: save it as CSV (UTF-8) first")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        note = (
            "The file is not UTF-8, so it was read as Windows-1252 (what Excel writes "
            "by default): check that accented names came through."
        )
        return data.decode("cp1252", errors="replace"), [note]


def _records(text: str) -> list[list[str]]:
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:
        raise RosterError(f"line {reader.line_num + 1} cannot be read as CSV ({exc})") from exc


def _sniff_delimiter(text: str) -> str:
    """Comma, semicolon (European Excel) or tab: whichever the header uses most.

    Only the header is looked at, outside quotes, because data cells hold
    commas ("Smith, Jo") far more often than header cells do.
    """
    header = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = "".join(part for i, part in enumerate(header.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _has_values(cells: Sequence[str]) -> bool:
    return any(cell.strip() for cell in cells)


def _redact(raw: str) -> str:
    """``"0161 496 0000"`` → ``"•••• ••• •000"``: enough to find the cell, no more."""
    text = raw.strip()[:_SNIPPET_LENGTH]
    remaining = sum(ch.isdigit() for ch in text)
    shown: list[str] = []
    for ch in text:
        if ch.isdigit():
            remaining -= 1
            shown.append(ch if remaining < 3 else "•")
        else:
            shown.append(ch)
    return "".join(shown)


@dataclass(slots=True)
class _Layout:
    """Which column holds what, worked out once from the header."""

    phone: int
    known: dict[str, int]
    custom: dict[str, int]
    unnamed: list[int]
    width: int
    """Cells in the header."""
    required: int
    """Cells a row needs: trailing columns with no heading may be left off."""

    @classmethod
    def from_header(cls, header: list[str], notes: list[str]) -> _Layout:
        names = [snake_case(cell) for cell in header]
        phone_candidates = sorted(
            (PHONE_ALIASES.index(name), i) for i, name in enumerate(names) if name in PHONE_ALIASES
        )
        if not phone_candidates:
            found = ", ".join(repr(cell.strip()) for cell in header if cell.strip())
            raise RosterError(
                "the file has no phone column: name one 'phone' (or mobile, cell, "
                f"phone_number, Mobile Number); the columns found are {found}"
            )
        phone = phone_candidates[0][1]
        if len(phone_candidates) > 1:
            others = ", ".join(repr(header[i].strip()) for _, i in phone_candidates[1:])
            notes.append(
                f"Phone numbers were read from {header[phone].strip()!r}; "
                f"{others} kept as custom fields."
            )
        required = max(i for i, name in enumerate(names) if name) + 1
        layout = cls(phone, known={}, custom={}, unnamed=[], width=len(header), required=required)
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if i == phone:
                continue
            if not name:
                layout.unnamed.append(i)
                continue
            known = next((k for k, aliases in FIELD_COLUMNS.items() if name in aliases), None)
            key = known or name
            if key in seen:
                first, second = header[seen[key]].strip(), header[i].strip()
                raise RosterError(
                    f"columns {first!r} and {second!r} both give {key}: rename or remove one"
                )
            seen[key] = i
            (layout.known if known else layout.custom)[key] = i
        return layout

    def read(self, row_number: int, cells: list[str], region: str) -> MemberRow | RejectedRow:
        """The member a data row describes, or why it cannot be imported."""
        if len(cells) < self.required or _has_values(cells[self.width :]):
            return RejectedRow(
                row_number,
                f"has {len(cells)} cells but the header has {self.width} columns "
                "(a missing or extra delimiter?)",
            )
        raw_phone = cells[self.phone]
        try:
            phone = phones.normalise(raw_phone, region)
        except phones.PhoneError as exc:
            return RejectedRow(row_number, exc.reason, _redact(raw_phone))

        def known(name: str) -> str | None:
            index = self.known.get(name)
            return None if index is None else cells[index].strip()

        return MemberRow(
            phone=phone,
            first_name=known("first_name"),
            last_name=known("last_name"),
            branch=known("branch"),
            membership_no=known("membership_no") or None,
            fields={name: cells[i].strip() for name, i in self.custom.items()},
            row_number=row_number,
        )


class _Merger:
    """Folds rows of the same member (same phone or membership number) into one.

    Later non-empty values win, as the later row is usually the newer export.
    A row whose phone belongs to one earlier member and whose membership
    number to another is rejected: guessing would text the wrong person.
    """

    def __init__(self) -> None:
        self.rows: list[MemberRow] = []
        self._by_phone: dict[str, int] = {}
        self._by_number: dict[str, int] = {}
        self._merged: dict[int, list[int]] = {}
        self._matched_on: dict[int, set[str]] = {}

    def add(self, row: MemberRow) -> RejectedRow | None:
        by_phone = self._by_phone.get(row.phone)
        by_number = self._by_number.get(row.membership_no) if row.membership_no else None
        if by_phone is not None and by_number is not None and by_phone != by_number:
            phone_row = self.rows[by_phone].row_number
            number_row = self.rows[by_number].row_number
            return RejectedRow(
                row.row_number,
                f"its phone number is on row {phone_row} but its membership number is on "
                f"row {number_row}, another member's",
                phones.mask(row.phone),
            )
        target = by_phone if by_phone is not None else by_number
        if target is None:
            target = len(self.rows)
            self.rows.append(row)
        else:
            _merge_into(self.rows[target], row)
            self._merged.setdefault(target, [self.rows[target].row_number]).append(row.row_number)
            matched = self._matched_on.setdefault(target, set())
            if by_phone is not None:
                matched.add("phone number")
            if by_number is not None:
                matched.add("membership number")
        self._by_phone[row.phone] = target
        if row.membership_no:
            self._by_number[row.membership_no] = target
        return None

    def groups(self) -> list[DuplicateGroup]:
        return [
            DuplicateGroup(tuple(numbers), " and ".join(sorted(self._matched_on[target])[::-1]))
            for target, numbers in sorted(self._merged.items(), key=lambda item: item[1][0])
        ]


def _merge_into(kept: MemberRow, later: MemberRow) -> None:
    kept.phone = later.phone
    kept.first_name = _later_non_empty(kept.first_name, later.first_name)
    kept.last_name = _later_non_empty(kept.last_name, later.last_name)
    kept.branch = _later_non_empty(kept.branch, later.branch)
    kept.membership_no = later.membership_no or kept.membership_no
    for name, value in later.fields.items():
        if value or name not in kept.fields:
            kept.fields[name] = value


def _later_non_empty(earlier: str | None, later: str | None) -> str | None:
    return later if later or earlier is None else earlier

"""Block Kit for a roster upload: the preview with its Import button, and the result.

The preview is what the organiser decides on, so it answers what they would
otherwise open the spreadsheet for: how many members, which rows are bad and
why (by the row numbers their spreadsheet shows), which rows were folded
together, and whether the scripts will find every field they use. Long lists
are cut short, since a Slack section holds 3,000 characters at most.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bot.roster.importer import DuplicateGroup, RejectedRow
from bot.text import escape_for_slack

Block = dict[str, Any]

IMPORT_ACTION = "roster_import"
CANCEL_ACTION = "roster_cancel"

MAX_REASONS = 10
"""Reasons for rejection listed, each with the first ``ROWS_PER_REASON`` rows."""
ROWS_PER_REASON = 8
MAX_DUPLICATE_GROUPS = 5
_SECTION_LIMIT = 3000


@dataclass(slots=True)
class Preview:
    """What a roster would do to a campaign, read without writing anything."""

    filename: str
    campaign_name: str
    campaign_slug: str
    rows: int
    importable: int
    rejected: list[RejectedRow]
    duplicates: list[DuplicateGroup]
    opted_out: int
    custom_fields: set[str]
    missing_fields: set[str]
    notes: list[str] = field(default_factory=list)

    @property
    def duplicates_merged(self) -> int:
        return sum(len(group.row_numbers) - 1 for group in self.duplicates)


def preview_message(preview: Preview, pending_id: int | None) -> tuple[str, list[Block]]:
    """The preview DM; with ``pending_id`` (something to import) it has the two buttons."""
    name = escape_for_slack(preview.filename)
    text = (
        f"{name}: {preview.importable:,} of {preview.rows:,} rows can be imported into "
        f"{preview.campaign_slug}. Nothing is imported until you click Import."
    )
    title = f"Import preview: {preview.filename}"[:150]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        _section(
            f"Into *{escape_for_slack(preview.campaign_name)}* (`{preview.campaign_slug}`). "
            "Nothing has been imported yet."
        ),
        {"type": "section", "fields": [_field(label, value) for label, value in _figures(preview)]},
    ]
    if preview.rejected:
        blocks.append(_section(_rejected_text(preview.rejected)))
    if preview.duplicates:
        blocks.append(_section(_duplicates_text(preview.duplicates)))
    blocks.extend(_section(line) for line in _field_lines(preview))
    if preview.notes:
        notes = "\n".join(f"• {escape_for_slack(note)}" for note in preview.notes)
        blocks.append({"type": "context", "elements": [_mrkdwn(_clip(notes))]})
    if pending_id is None:
        blocks.append(_section("Nothing in this file can be imported: fix it and upload it again."))
        return text, blocks
    members = "member" if preview.importable == 1 else "members"
    label = f"Import {preview.importable:,} {members}"
    blocks.append(
        {
            "type": "actions",
            "block_id": f"roster_{pending_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": IMPORT_ACTION,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": label},
                    "value": str(pending_id),
                },
                {
                    "type": "button",
                    "action_id": CANCEL_ACTION,
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "value": str(pending_id),
                },
            ],
        }
    )
    return text, blocks


def _figures(preview: Preview) -> list[tuple[str, str]]:
    return [
        ("Rows", f"{preview.rows:,}"),
        ("Importable", f"{preview.importable:,}"),
        ("Rejected", f"{len(preview.rejected):,}"),
        ("Duplicates merged", f"{preview.duplicates_merged:,}"),
        ("Already opted out", f"{preview.opted_out:,} (never texted)"),
    ]


def rejected_by_reason(rejected: list[RejectedRow]) -> dict[str, list[int]]:
    """Row numbers per reason, reasons in order of first appearance."""
    grouped: dict[str, list[int]] = defaultdict(list)
    for row in rejected:
        grouped[row.reason].append(row.row_number)
    return dict(grouped)


def _rejected_text(rejected: list[RejectedRow]) -> str:
    grouped = rejected_by_reason(rejected)
    lines = ["*Rejected rows, by reason* (the header is row 1)"]
    for reason, numbers in list(grouped.items())[:MAX_REASONS]:
        lines.append(f"• {escape_for_slack(reason)}: {len(numbers):,} ({row_list(numbers)})")
    if len(grouped) > MAX_REASONS:
        lines.append(f"… and {len(grouped) - MAX_REASONS:,} other reasons")
    return _clip("\n".join(lines))


def _duplicates_text(duplicates: list[DuplicateGroup]) -> str:
    lines = ["*Duplicates merged* (the later row's values win)"]
    for group in duplicates[:MAX_DUPLICATE_GROUPS]:
        lines.append(f"• {row_list(list(group.row_numbers))}: same {group.matched_on}")
    if len(duplicates) > MAX_DUPLICATE_GROUPS:
        lines.append(f"… and {len(duplicates) - MAX_DUPLICATE_GROUPS:,} more")
    return _clip("\n".join(lines))


def _field_lines(preview: Preview) -> list[str]:
    lines = []
    if preview.custom_fields:
        names = ", ".join(f"`{escape_for_slack(n)}`" for n in sorted(preview.custom_fields))
        lines.append(_clip(f"*Custom fields:* {names}"))
    if preview.missing_fields:
        names = ", ".join(f"`{{{n}}}`" for n in sorted(preview.missing_fields))
        lines.append(
            _clip(
                f":warning: The scripts use {names}, which no column of this file gives: "
                "members without it will not be sent those scripts."
            )
        )
    return lines


def row_list(numbers: list[int], limit: int = ROWS_PER_REASON) -> str:
    """``[3, 7, 9]`` → ``"rows 3, 7, 9"``; longer lists end with how many more."""
    word = "row" if len(numbers) == 1 else "rows"
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit:,} more" if len(numbers) > limit else ""
    return f"{word} {shown}{more}"


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _field(label: str, value: str) -> dict[str, str]:
    return _mrkdwn(f"*{label}*\n{value}")


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _clip(text: str, limit: int = _SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

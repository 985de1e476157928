"""`turnout members import FILE.csv --campaign SLUG [--strict]`.

Exit codes, for scripts that run imports unattended: 0 when the import ran
(rejected rows are reported, not fatal), 1 when ``--strict`` refused the
file, 2 when it could not run at all (missing file, unknown campaign, no
phone column).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.config import Settings
from bot.roster.members import ImportReport, RosterError, import_roster
from storage.db import Database

__all__ = ["ProgressBar", "register"]

REJECTED_LISTED = 50
"""Rejected rows printed at most; the rest are counted."""

_STAGES = ("Reading", "Importing")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `members` command group to the CLI's subparsers."""
    members = sub.add_parser("members", help="import members into a campaign")
    members_sub = members.add_subparsers(title="members commands", metavar="COMMAND")
    imp = members_sub.add_parser(
        "import",
        help="create or update a campaign's members from a CSV roster",
        description=(
            "Create or update members from a CSV with a header row and a phone column. "
            "Bad rows are reported by row number and reason; nothing is half-imported."
        ),
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv", help="the roster (CSV)")
    imp.add_argument("--campaign", required=True, metavar="SLUG", help="the campaign's slug")
    imp.add_argument(
        "--strict", action="store_true", help="import nothing if any row is rejected (exit 1)"
    )
    imp.set_defaults(run=_import)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"turnout: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    bar = ProgressBar(sys.stderr)
    try:
        report = asyncio.run(_run(settings, args.campaign, data, args.strict, bar))
    except RosterError as exc:
        bar.close()
        print(f"turnout: {path.name}: {exc}", file=sys.stderr)
        return 2
    bar.close()
    print(report.summary(limit=REJECTED_LISTED))
    return 1 if report.refused else 0


async def _run(
    settings: Settings, campaign: str, data: bytes, strict: bool, bar: ProgressBar
) -> ImportReport:
    db = Database(settings.database_url)
    try:
        await db.require_migrated()
        return await import_roster(
            db,
            campaign,
            data,
            region=settings.default_region,
            strict=strict,
            now=datetime.now(UTC),
            progress=bar.update,
        )
    finally:
        await db.dispose()


class ProgressBar:
    """``Importing  12,000/27,000 rows [=====>    ] 44%`` on stderr.

    On a terminal the line is redrawn in place (at most ten times a second,
    so a fast import is not slowed by drawing); in a log or a pipe a few
    plain lines are written instead, because carriage returns make a mess
    there. Each stage of the import starts with a (0, total) call.
    """

    WIDTH = 30
    REDRAW_SECONDS = 0.1

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._stage = -1
        self._last_draw = 0.0
        self._last_quarter = -1
        self._open_line = False

    def update(self, done: int, total: int) -> None:
        """Called from the import (possibly from a worker thread)."""
        if done == 0:
            self._next_stage()
        if total <= 0:
            return
        if self.tty:
            now = time.monotonic()
            if done < total and now - self._last_draw < self.REDRAW_SECONDS:
                return
            self._last_draw = now
            self.stream.write("\r" + self._line(done, total))
            self._open_line = True
        else:
            quarter = done * 4 // total
            if quarter == self._last_quarter:
                return
            self._last_quarter = quarter
            self.stream.write(self._line(done, total) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line so that what follows starts on its own line."""
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False

    def _next_stage(self) -> None:
        self.close()
        self._stage = min(self._stage + 1, len(_STAGES) - 1)
        self._last_draw = 0.0
        self._last_quarter = -1

    def _line(self, done: int, total: int) -> str:
        label = _STAGES[max(self._stage, 0)]
        fraction = min(done / total, 1.0)
        filled = int(self.WIDTH * fraction)
        arrow = ">" if filled < self.WIDTH else ""
        bar = ("=" * filled + arrow).ljust(self.WIDTH)[: self.WIDTH]
        width = len(f"{total:,}")
        return f"{label:<10} {done:>{width},}/{total:,} rows [{bar}] {int(fraction * 100):>3}%"

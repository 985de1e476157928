"""`turnout campaign purge SLUG [--slack] [--yes]`: erase a closed campaign's personal data.

Nothing is erased unless the admin confirms by typing the campaign's slug at
a terminal, or passes `--yes` (for scripts). Exit codes: 0 purged, 1 refused
(not confirmed, unknown campaign, not closed).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from bot.cli.campaign import SubParsers, _with_database, campaign_subparsers
from bot.config import Settings
from bot.exports.purge import PurgePreview, PurgeRefused, PurgeReport, preview, purge_campaign

PROMPT = "Type the campaign slug to confirm: "
FIGURES = (
    ("members", "members"),
    ("texted", "members texted"),
    ("texts_sent", "texts sent"),
    ("delivered", "delivered"),
    ("failed", "failed"),
    ("replies", "replies"),
    ("replied", "members who replied"),
    ("opted_out", "opted out"),
)


def register(sub: SubParsers) -> None:
    """Add `turnout campaign purge`."""
    purge = campaign_subparsers(sub).add_parser(
        "purge",
        help="delete a closed campaign's personal data, keeping its figures",
        description="Erase a closed campaign's member names, phone numbers, membership "
        "numbers, custom fields, message bodies and replacement-ballot addresses. Its "
        "figures are kept in the audit log; the global opt-out list is kept, so STOP "
        "stays honoured.",
    )
    purge.add_argument("slug", metavar="SLUG", help="the campaign's slug")
    purge.add_argument(
        "--slack",
        action="store_true",
        help="also delete the messages the app posted in the campaign's Slack threads",
    )
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(run=_purge)


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    slug: str = args.slug
    try:
        before = _with_database(settings, lambda db: preview(db, slug))
        if not args.yes:
            print("\n".join(describe_preview(before, slack=args.slack)))
            if not _confirmed(slug):
                return 1
        report = _with_database(
            settings,
            lambda db: purge_campaign(
                db, slug, slack=args.slack, now=datetime.now(UTC), actor=_actor()
            ),
        )
    except PurgeRefused as refused:
        print(f"turnout: {refused}", file=sys.stderr)
        return 1
    print("\n".join(describe_report(report)))
    return 0


def _confirmed(slug: str) -> bool:
    if not sys.stdin.isatty():
        print(
            "Not purged: confirmation needs a terminal; pass --yes to purge without asking.",
            file=sys.stderr,
        )
        return False
    try:
        answer = input(PROMPT)
    except EOFError:
        answer = ""
    if answer.strip() != slug:
        print("Not purged: the slug typed did not match.", file=sys.stderr)
        return False
    return True


def _actor() -> str:
    """Who ran the purge, for the audit log: the operating-system login if known."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in a bare container
        return "cli"


def describe_preview(before: PurgePreview, *, slack: bool) -> list[str]:
    lines = [
        f"This erases the personal data of campaign {before.slug} ({before.name}):",
        f"  {before.members} members' names, phone numbers, membership numbers and fields,",
        f"  {before.conversations} conversations' phone numbers and message texts, "
        "and replacement-ballot addresses.",
    ]
    if slack:
        lines.append(f"  The app's messages in {before.threads} Slack threads are deleted too.")
    if before.purged_before is not None:
        lines.append(f"  (It was purged before, on {before.purged_before:%Y-%m-%d %H:%M} UTC.)")
    lines.append("It cannot be undone. The figures and the global opt-out list are kept.")
    return lines


def describe_report(report: PurgeReport) -> list[str]:
    erased = report.erased
    verb = "Purged again" if report.repeated else "Purged"
    lines = [
        f"{verb} campaign {report.slug}:",
        f"  {erased.members} members: names, phone numbers, membership numbers, fields",
        f"  {erased.conversations} conversations: phone numbers",
        f"  {erased.messages} messages: texts",
        f"  {erased.replacement_requests} replacement-ballot requests: addresses and notes",
        f"  {erased.pending_imports} uploaded rosters: file contents",
        f"  {erased.slack_deliveries} Slack outbox entries: payloads",
    ]
    if report.slack_threads_queued:
        lines.append(
            f"  {report.slack_threads_queued} Slack threads queued for deletion of the app's "
            "messages; `turnout serve` carries it out (activists' own messages stay: "
            "a bot cannot delete them)"
        )
    lines.append("Kept for the record (`turnout audit`, action purge):")
    lines.extend(_record_lines(report.record))
    lines.append("The global opt-out list is kept, so STOP is still honoured.")
    return lines


def _record_lines(record: dict[str, Any]) -> list[str]:
    figures = ", ".join(f"{record.get(key, 0)} {label}" for key, label in FIGURES)
    outcomes = record.get("outcomes") or {}
    listed = ", ".join(f"{key} {n}" for key, n in outcomes.items()) or "none"
    requested = record.get("replacement_requests", 0)
    processed = record.get("replacement_requests_processed", 0)
    return [
        f"  {figures}",
        f"  outcomes: {listed}",
        f"  replacement-ballot requests: {requested} ({processed} processed)",
        f"  branches: {len(record.get('by_branch') or {})}",
    ]

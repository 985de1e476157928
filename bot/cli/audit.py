"""`turnout audit [--since ISO-8601] [--json]`: print the audit log, oldest first.

One line an entry: the time in UTC, the actor (a Slack user id, "member",
"cli:<login>"), the action and its detail as key=value pairs. Values that
are not plain words are written as JSON, so a line can be split reliably;
`--json` prints one JSON object a line instead, for other tools.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from bot.cli.campaign import SubParsers, _with_database
from bot.config import Settings
from storage import events
from storage.db import Database
from storage.models import AuditEntry


def register(sub: SubParsers) -> None:
    """Add `turnout audit` to the CLI's subparsers."""
    audit = sub.add_parser(
        "audit",
        help="print the audit log",
        description="Print the audit log (assignments, exports, role and opt-out changes, "
        "purges...), oldest first, with times in UTC.",
    )
    audit.add_argument(
        "--since",
        type=since_time,
        metavar="ISO-8601",
        help="only entries at or after this time, e.g. 2021-11-01 or 2021-11-01T09:00+00:00 "
        "(a time without an offset is UTC)",
    )
    audit.add_argument("--json", action="store_true", help="one JSON object a line")
    audit.set_defaults(run=_audit)


def since_time(text: str) -> datetime:
    """The --since value as an aware UTC time; argparse turns the error into exit 2."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 date or time (e.g. 2021-11-01 or 2021-11-01T09:00Z)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def format_line(entry: AuditEntry) -> str:
    detail = " ".join(f"{key}={_value(value)}" for key, value in entry.detail.items())
    line = f"{_utc(entry.at)}  {entry.actor}  {entry.action}"
    return f"{line}  {detail}" if detail else line


def format_json(entry: AuditEntry) -> str:
    record = {"at": _utc(entry.at), "actor": entry.actor, "action": entry.action}
    return json.dumps({**record, "detail": entry.detail}, ensure_ascii=False)


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    since: datetime | None = args.since

    async def read(db: Database) -> list[AuditEntry]:
        async with db.sessions() as session:
            return await events.audit_since(session, since)

    entries = _with_database(settings, read)
    if not entries:
        after = f" since {_utc(since)}" if since else ""
        print(f"The audit log has no entries{after}.", file=sys.stderr)
        return 0
    render = format_json if args.json else format_line
    for entry in entries:
        print(render(entry))
    return 0


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _value(value: Any) -> str:
    if isinstance(value, str) and value and not any(c.isspace() or c in "\"'=" for c in value):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

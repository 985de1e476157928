"""`/turnout export`: a campaign's CSV files, uploaded to the organiser's DM.

Asking only queues the work (``Kind.EXPORT`` in the Slack outbox), so the
command is answered at once and a restart resumes an export instead of
losing it. The job (:func:`run`) streams rows from the database into a
private temporary file, uploads it with files_upload_v2 and writes the
audit entry: who, when, what, how many rows. A retried delivery that finds
its own audit entry does not upload again.

Replacement-ballot requests are a to-do list for the union's office: the
export of them offers a "Mark these N as processed" button (also
``/turnout export mark-processed``), and later exports leave processed
requests out unless asked for ``all``. Marking covers exactly the requests
that export could contain (ids up to the newest in it), never one that
arrived after it and nobody has seen.
"""

from __future__ import annotations

import asyncio
import csv
import difflib
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackRequestError

from bot.bridge.slack_outbox import GaveUp
from bot.campaigns import lifecycle
from bot.campaigns.roles import Role, require, role_of
from bot.command_args import CommandError
from bot.intents import Kind
from bot.roster.uploads import tell
from bot.runtime import Runtime
from bot.text import escape_for_slack
from storage import campaigns as stored_campaigns
from storage import events, outbox
from storage import exports as stored
from storage.db import Database
from storage.models import AuditEntry, Campaign, SlackDelivery

if TYPE_CHECKING:
    from bot.bridge.slack_outbox import Deliveries, SlackOutbox

REPLACEMENTS, OUTCOMES, CONVERSATIONS = "replacements", "outcomes", "conversations"
EXPORTS = (REPLACEMENTS, OUTCOMES, CONVERSATIONS)
MARK_PROCESSED = "mark-processed"
MARK_PROCESSED_ACTION = "export_mark_processed"
USAGE = (
    "usage: `/turnout export replacements [all]|outcomes|conversations [campaign:SLUG]`, "
    "or `/turnout export mark-processed [campaign:SLUG]` after checking a replacements export"
)
# A spreadsheet runs a cell that starts like a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.EXPORT, run)


class ExportError(CommandError):
    """An export or a marking that cannot be done; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class Written:
    rows: int
    # Replacements only: the newest request id in the file, and how many were unprocessed.
    upto: int | None = None
    unprocessed: int = 0


# -- asking ------------------------------------------------------------------------


async def command(rt: Runtime, user: str, words: Sequence[str], campaign_slug: str | None) -> str:
    """`/turnout export WHAT [all]` or `/turnout export mark-processed`: the reply to show."""
    what, extra = (words[0], list(words[1:])) if words else ("", [])
    if what == MARK_PROCESSED and not extra:
        return await mark_processed(rt, user, campaign_slug=campaign_slug)
    everything = what == REPLACEMENTS and extra == ["all"]
    if extra and not everything:
        raise ExportError(USAGE)
    return await request_export(rt, user, what, campaign_slug, include_processed=everything)


async def request_export(
    rt: Runtime,
    user: str,
    what: str,
    campaign_slug: str | None,
    *,
    include_processed: bool = False,
) -> str:
    """Queue an export for an organiser; returns the immediate reply."""
    async with rt.db.transaction() as session:
        await require(session, rt, user, Role.ORGANISER)
        _check_name(what)
        campaign = await lifecycle.resolve(session, campaign_slug)
        await outbox.enqueue(
            session,
            Kind.EXPORT,
            now=rt.now(),
            payload={
                "user": user,
                "what": what,
                "campaign_id": campaign.id,
                "include_processed": include_processed,
            },
        )
    rt.wake()
    return f"Preparing the {what} export for {campaign.slug}; it will arrive in your DM."


def _check_name(what: str) -> None:
    if what in EXPORTS:
        return
    if not what:
        raise ExportError(f"which export? {USAGE}")
    close = difflib.get_close_matches(what, [*EXPORTS, MARK_PROCESSED], n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    raise ExportError(f"there is no export `{escape_for_slack(what)}`.{hint}\n{USAGE}")


# -- the job -------------------------------------------------------------------------


async def run(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """Kind.EXPORT: write the CSV, upload it to the organiser's DM, audit it."""
    rt, payload = out.rt, delivery.payload
    user, what = str(payload["user"]), str(payload["what"])
    async with rt.db.sessions() as session:
        campaign = await stored_campaigns.get(session, int(payload["campaign_id"]))
        done = await stored.export_of_delivery(session, delivery.id)
        still_organiser = await role_of(session, rt, user) >= Role.ORGANISER
    if campaign is None or not still_organiser:
        why = "its campaign no longer exists" if campaign is None else "only organisers can export"
        async with rt.db.transaction() as session:
            await tell(session, rt, user, f":x: The {what} export was not made: {why}.")
        rt.wake()
        return
    try:
        entry = done or await _export(
            out, delivery, campaign, what, bool(payload.get("include_processed"))
        )
    except GaveUp as refused:
        async with rt.db.transaction() as session:
            reason = escape_for_slack(str(refused))
            await tell(session, rt, user, f":x: The {what} export could not be uploaded: {reason}")
        rt.wake()
        raise
    await _offer_mark_processed(out, delivery, user, entry)


async def _export(
    out: SlackOutbox,
    delivery: SlackDelivery,
    campaign: Campaign,
    what: str,
    include_processed: bool,
) -> AuditEntry:
    rt, user = out.rt, str(delivery.payload["user"])
    channel = await out.dm_channel(user)
    filename = f"{campaign.slug}-{what}-{rt.now():%Y%m%d-%H%M%S}.csv"
    zone = _zone(campaign)
    # A private folder (mode 0700), removed however the upload ends: it holds member data.
    with tempfile.TemporaryDirectory(prefix="turnout-export-") as folder:
        path = Path(folder) / filename
        written = await write_csv(
            rt.db, campaign.id, what, path, zone=zone, include_processed=include_processed
        )
        try:
            await out.call(
                "files.upload_v2",
                channel=channel,
                file=str(path),
                filename=filename,
                title=f"{campaign.name}: {what}",
                initial_comment=_comment(campaign, what, written, zone, include_processed),
            )
        except SlackRequestError as refused:  # the file itself was refused (size, or a 5xx)
            raise GaveUp(f"files.upload_v2: {refused}") from refused
    async with rt.db.transaction() as session:
        await events.audit(
            session,
            actor=user,
            action=stored.EXPORT_ACTION,
            now=rt.now(),
            what=what,
            campaign=campaign.slug,
            campaign_id=campaign.id,
            rows=written.rows,
            filename=filename,
            include_processed=include_processed,
            upto=written.upto,
            unprocessed=written.unprocessed,
            delivery=delivery.id,
        )
        entry = await stored.export_of_delivery(session, delivery.id)
    assert entry is not None
    return entry


def _zone(campaign: Campaign) -> tzinfo:
    try:
        return ZoneInfo(campaign.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _comment(
    campaign: Campaign, what: str, written: Written, zone: tzinfo, include_processed: bool
) -> str:
    rows = f"{written.rows:,} row" + ("" if written.rows == 1 else "s")
    text = f"The {what} export of {escape_for_slack(campaign.name)}: {rows}. Times are {zone}."
    if what == REPLACEMENTS and not include_processed:
        text += (
            " Requests already marked processed are left out"
            " (`/turnout export replacements all` includes them)."
        )
    return text


async def _offer_mark_processed(
    out: SlackOutbox, delivery: SlackDelivery, user: str, entry: AuditEntry
) -> None:
    detail = entry.detail
    count = int(detail.get("unprocessed") or 0)
    if detail.get("what") != REPLACEMENTS or count == 0:
        return
    channel = await out.dm_channel(user)
    text, blocks = mark_processed_message(entry.id, count, str(detail.get("filename")))
    await out.post_once(delivery, f"export:{entry.id}", channel=channel, text=text, blocks=blocks)


def mark_processed_message(export_id: int, count: int, filename: str) -> tuple[str, list[Any]]:
    requests = "request" if count == 1 else "requests"
    text = (
        f"When the office has sent the {count} replacement {requests} in {filename}, "
        "mark them processed so the next export leaves them out."
    )
    button = {
        "type": "button",
        "action_id": MARK_PROCESSED_ACTION,
        "text": {"type": "plain_text", "text": f"Mark these {count} as processed"},
        "value": str(export_id),
        "style": "primary",
        "confirm": {
            "title": {"type": "plain_text", "text": "Mark as processed?"},
            "text": {
                "type": "mrkdwn",
                "text": f"Only if the office has sent these {count} replacement ballots.",
            },
            "confirm": {"type": "plain_text", "text": "Mark processed"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        },
    }
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [button]},
    ]


# -- the file ------------------------------------------------------------------------


async def write_csv(
    db: Database,
    campaign_id: int,
    what: str,
    path: Path,
    *,
    zone: tzinfo,
    include_processed: bool = False,
) -> Written:
    """Stream one export into ``path``, batch by batch; UTF-8 with a BOM, for Excel."""
    rows: AsyncIterator[Sequence[NamedTuple]]
    header: tuple[str, ...]
    if what == REPLACEMENTS:
        rows = stored.replacements(db, campaign_id, include_processed=include_processed)
        header = stored.ReplacementRow._fields
    elif what == OUTCOMES:
        rows, header = stored.outcomes(db, campaign_id), stored.OutcomeRow._fields
    elif what == CONVERSATIONS:
        rows, header = stored.messages(db, campaign_id), stored.MessageRow._fields
    else:
        raise ValueError(f"unknown export {what!r}")
    count, upto, unprocessed = 0, None, 0
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([name.replace("_", " ").capitalize() for name in header])
        async for batch in rows:
            lines = [[cell(value, zone) for value in row] for row in batch]
            await asyncio.to_thread(writer.writerows, lines)
            count += len(batch)
            for row in batch:
                if isinstance(row, stored.ReplacementRow):
                    upto = row.request_id
                    unprocessed += row.processed_at is None
    return Written(rows=count, upto=upto, unprocessed=unprocessed)


def cell(value: object, zone: tzinfo) -> str:
    """One CSV cell: times in the campaign's zone, and nothing a spreadsheet would run."""
    if type(value) is str:  # most cells: the fast path of a 100,000-row export
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# -- marking replacement requests processed ------------------------------------------


async def mark_processed(
    rt: Runtime, user: str, *, campaign_slug: str | None = None, export_id: int | None = None
) -> str:
    """Mark the unprocessed requests of one replacements export as processed.

    ``export_id`` is the export's audit entry (the button); without it, the
    campaign's latest replacements export (the subcommand). Audited.
    """
    now = rt.now()
    async with rt.db.transaction() as session:
        await require(session, rt, user, Role.ORGANISER)
        if export_id is not None:
            entry = await stored.export_entry(session, export_id)
            if entry is None or entry.detail.get("what") != REPLACEMENTS:
                raise ExportError("that export is not one of replacement requests.")
        else:
            campaign = await lifecycle.resolve(session, campaign_slug)
            entry = await stored.latest_export(session, campaign.id, REPLACEMENTS)
            if entry is None:
                raise ExportError(
                    f"{campaign.slug} has no replacements export yet: run "
                    "`/turnout export replacements`, check it, then mark it processed."
                )
        detail = entry.detail
        upto, campaign_id = detail.get("upto"), int(detail["campaign_id"])
        marked = 0
        if upto is not None:
            marked = await stored.mark_processed(
                session, campaign_id, upto=int(upto), user_id=user, now=now
            )
        await events.audit(
            session,
            actor=user,
            action="mark_processed",
            now=now,
            what=REPLACEMENTS,
            campaign=detail.get("campaign"),
            campaign_id=campaign_id,
            rows=marked,
            export=entry.id,
            filename=detail.get("filename"),
            upto=upto,
        )
    filename = escape_for_slack(str(detail.get("filename")))
    if marked == 0:
        return f"Nothing to mark: the requests in {filename} were already marked processed."
    requests = "request" if marked == 1 else "requests"
    return (
        f":white_check_mark: <@{user}> marked {marked} replacement {requests} from {filename} "
        "as processed. The next `/turnout export replacements` leaves them out."
    )

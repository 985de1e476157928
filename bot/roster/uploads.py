"""Importing members by uploading a CSV to the app's DM: receive, preview, confirm.

Bolt must be answered within three seconds, and a 27,000-row roster takes
longer than that to download and check, so nothing slow happens here: each
entry point decides in one short transaction and queues the slow part in
the durable Slack outbox (``Kind.IMPORT_PREVIEW``, ``Kind.IMPORT_RUN``, run
by :mod:`bot.roster.upload_jobs`). A restart resumes a queued preview or import
instead of losing it, and the organiser hears the outcome by DM.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns import lifecycle
from bot.campaigns.roles import NotAllowed, Role, require
from bot.intents import Kind
from bot.runtime import Runtime
from bot.text import escape_for_slack
from storage import campaigns as stored_campaigns
from storage import events, outbox
from storage import uploads as stored
from storage.models import PendingImport

__all__ = [
    "MAX_UPLOAD_BYTES",
    "cancel_import",
    "confirm_import",
    "receive_upload",
    "refusal",
    "tell",
]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""Far above a national roster (27,000 members is about 2 MB), far below a mistake."""

ORGANISERS_ONLY = (
    "Only organisers can import members. Ask an organiser if this file should be imported."
)
NOT_CLOSED = "nothing was imported, as a closed campaign takes no new member data."
CSV_FILETYPES = frozenset({"csv", "tsv", "text"})
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
_CAMPAIGN_OPTION = re.compile(r"(?i)(?<![\w-])campaign:\s*([a-z0-9][a-z0-9_-]*)")


async def receive_upload(
    rt: Runtime,
    *,
    user: str,
    channel: str,
    files: Sequence[Mapping[str, Any]],
    text: str,
    event_id: str | None,
) -> None:
    """Files an organiser shared in their DM with the app: queue a preview of each CSV.

    Others are told by DM why nothing happened: only organisers import, only
    CSV can be read, the campaign is ``campaign:SLUG`` in the message or the
    only active one. A Slack retry of the same event does nothing more.
    """
    async with rt.db.transaction() as session:
        if not event_id or await events.first_sight(session, event_id, rt.now()):
            await _receive(session, rt, user, channel, files, text)
    rt.wake()


async def _receive(
    session: AsyncSession,
    rt: Runtime,
    user: str,
    channel: str,
    files: Sequence[Mapping[str, Any]],
    text: str,
) -> None:
    try:
        await require(session, rt, user, Role.ORGANISER)
    except NotAllowed:
        await tell(session, rt, user, ORGANISERS_ONLY)
        return
    readable = []
    for shared in files:
        problem = refusal(shared)
        if problem is None:
            readable.append(shared)
        else:
            name = escape_for_slack(_name(shared))
            await tell(session, rt, user, f"I can't import {name}: {problem}.")
    if not readable:
        return
    try:
        campaign = await lifecycle.resolve(session, campaign_option(text))
    except lifecycle.CampaignError as exc:
        await tell(session, rt, user, f"I can't import that file: {escape_for_slack(str(exc))}.")
        return
    if campaign.state == "closed":
        await tell(session, rt, user, f"Campaign `{campaign.slug}` is closed: {NOT_CLOSED}")
        return
    for shared in readable:
        job = {
            "user": user,
            "channel": channel,
            "file_id": str(shared["id"]),
            "filename": _name(shared),
            "campaign_id": campaign.id,
        }
        await outbox.enqueue(session, Kind.IMPORT_PREVIEW, now=rt.now(), payload=job)


def campaign_option(text: str) -> str | None:
    """The slug in ``campaign:SLUG`` anywhere in the message, if there is one."""
    found = _CAMPAIGN_OPTION.search(text or "")
    return found.group(1) if found else None


def _name(shared: Mapping[str, Any]) -> str:
    return str(shared.get("name") or shared.get("title") or shared.get("id") or "the file")


def refusal(shared: Mapping[str, Any]) -> str | None:
    """Why a shared file cannot be a roster ("it is not a CSV file"), or None if it may be.

    A stub that Slack marks ``check_file_info`` carries no name or type yet;
    it is let through and checked again once ``files.info`` describes it.
    """
    if "id" not in shared:
        return "Slack gave no file id for it"
    if shared.get("file_access") == "check_file_info":
        return None
    filetype = str(shared.get("filetype") or "").lower()
    if filetype not in CSV_FILETYPES and not _name(shared).lower().endswith(CSV_SUFFIXES):
        excel = " (save it from Excel as *CSV UTF-8* and upload that)"
        return "it is not a CSV file" + (excel if filetype.startswith("xls") else "")
    size = shared.get("size")
    if isinstance(size, int) and size > MAX_UPLOAD_BYTES:
        return too_big(size)
    return None


def too_big(size: int) -> str:
    limit = MAX_UPLOAD_BYTES // (1024 * 1024)
    return (
        f"it is {size / (1024 * 1024):.1f} MB, more than the {limit} MB a roster may be: "
        "split it, or import it with `turnout members import`"
    )


async def confirm_import(rt: Runtime, user: str, pending_id: int) -> None:
    """The organiser clicked Import: queue the import of the file the preview described.

    Only the first click starts it (``start_import`` is conditional); later
    clicks are told it is under way or done.
    """
    async with rt.db.transaction() as session:
        pending = await _allowed(session, rt, user, pending_id)
        if pending is not None:
            await tell(session, rt, user, await _start(session, rt, user, pending))
    rt.wake()


async def _start(session: AsyncSession, rt: Runtime, user: str, pending: PendingImport) -> str:
    """Queue the import if it is still pending; what to tell the organiser."""
    campaign = await stored_campaigns.get(session, pending.campaign_id)
    if campaign is None or campaign.state == "closed":
        return f"That campaign is closed or gone: {NOT_CLOSED}"
    if not await stored.start_import(session, pending.id):
        return await _not_pending(session, pending)
    job = {"user": user, "pending_id": pending.id}
    await outbox.enqueue(session, Kind.IMPORT_RUN, now=rt.now(), payload=job)
    name = escape_for_slack(pending.filename)
    return (
        f":hourglass_flowing_sand: Importing {name} into `{campaign.slug}`: "
        "the result will appear here."
    )


async def cancel_import(rt: Runtime, user: str, pending_id: int) -> None:
    """The organiser clicked Cancel: forget the file, unless its import already began."""
    async with rt.db.transaction() as session:
        pending = await _allowed(session, rt, user, pending_id)
        if pending is not None:
            if await stored.cancel(session, pending_id):
                name = escape_for_slack(pending.filename)
                message = f"Cancelled: nothing from {name} was imported."
            else:
                message = await _not_pending(session, pending)
            await tell(session, rt, user, message)
    rt.wake()


async def _allowed(
    session: AsyncSession, rt: Runtime, user: str, pending_id: int
) -> PendingImport | None:
    """The upload, if ``user`` may act on it; else they are told why not."""
    try:
        await require(session, rt, user, Role.ORGANISER)
    except NotAllowed:
        await tell(session, rt, user, ORGANISERS_ONLY)
        return None
    pending = await stored.get(session, pending_id)
    if pending is None:
        await tell(session, rt, user, "That upload no longer exists: upload the file again.")
    return pending


async def _not_pending(session: AsyncSession, pending: PendingImport) -> str:
    """Why a click changed nothing, read afresh: a racing click may just have moved it."""
    pending = await stored.get(session, pending.id) or pending
    name = escape_for_slack(pending.filename)
    if pending.status == stored.IMPORTED:
        return f"{name} was already imported; nothing more was done."
    if pending.status == stored.IMPORTING:
        return f"{name} is being imported already; the result will appear here."
    return f"The import of {name} was cancelled. Upload the file again to import it."


async def tell(
    session: AsyncSession,
    rt: Runtime,
    user: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """A DM to ``user``, queued in the caller's transaction so it goes out with its cause."""
    await outbox.enqueue(
        session, Kind.DM, now=rt.now(), payload={"user": user, "text": text, "blocks": blocks}
    )

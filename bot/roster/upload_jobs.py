"""The slow halves of a roster upload, run by the Slack outbox after Bolt's ack.

``preview`` downloads the shared file with the bot token, reads it without
writing a member, keeps it as a pending import and DMs the organiser what
it would do; ``run_import`` imports the kept file when they click Import.
Both are safe to run twice, as an outbox delivery retaken after a crash is:
the preview finds its pending import by Slack's file id, and the import
only runs while the pending import is marked as importing (a roster import
is all-or-nothing, and re-importing a file updates members, never doubles
them).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from bot.bridge.slack_outbox import Deferred, GaveUp
from bot.campaigns import lifecycle
from bot.campaigns.campaign_file import CampaignFileError
from bot.intents import Kind
from bot.roster.importer import RosterError, RosterPlan, read_roster
from bot.roster.members import TURNOUT_FIELDS, ImportReport, import_roster
from bot.roster.upload_blocks import Preview, preview_message
from bot.roster.uploads import MAX_UPLOAD_BYTES, refusal, tell, too_big
from bot.runtime import Runtime
from bot.text import escape_for_slack
from storage import campaigns as stored_campaigns
from storage import events, members, uploads
from storage.models import Campaign, SlackDelivery

if TYPE_CHECKING:
    from bot.bridge.slack_outbox import Deliveries, SlackOutbox

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_read=30)
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.IMPORT_PREVIEW, preview)
    deliveries.add(Kind.IMPORT_RUN, run_import)


class UploadRefused(Exception):
    """The file cannot be fetched or read; the message is for the organiser."""


async def preview(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """Kind.IMPORT_PREVIEW: fetch, read and keep the file; DM the preview."""
    rt, payload = out.rt, delivery.payload
    user, file_id = str(payload["user"]), str(payload["file_id"])
    name = escape_for_slack(str(payload.get("filename") or file_id))
    async with rt.db.sessions() as session:
        if await uploads.by_file(session, file_id) is not None:
            return  # a retried delivery: the preview was queued with the pending import
    try:
        content = await fetch(out, file_id)
        plan = await asyncio.to_thread(read_roster, content, region=rt.settings.default_region)
    except (UploadRefused, RosterError) as exc:
        await _tell(rt, user, f":x: I can't import {name}: {escape_for_slack(str(exc))}")
        return
    async with rt.db.transaction() as session:
        campaign = await stored_campaigns.get(session, int(payload["campaign_id"]))
        if campaign is None:
            await tell(session, rt, user, f":x: The campaign for {name} no longer exists.")
            return
        found = _preview(str(payload.get("filename") or file_id), campaign, plan)
        found.opted_out = len(await members.opted_out_phones(session, [r.phone for r in plan.rows]))
        pending_id = None
        if plan.rows:
            pending = await uploads.add(
                session,
                user_id=user,
                campaign_id=campaign.id,
                file_id=file_id,
                filename=found.filename,
                content=content,
                now=rt.now(),
            )
            pending_id = pending.id
        text, blocks = preview_message(found, pending_id)
        await tell(session, rt, user, text, blocks)
    rt.wake()


def _preview(filename: str, campaign: Campaign, plan: RosterPlan) -> Preview:
    try:
        script_fields = lifecycle.spec_of(campaign).custom_fields()
    except CampaignFileError:
        log.warning("campaign %s: stored settings do not validate", campaign.slug)
        script_fields = set()
    return Preview(
        filename=filename,
        campaign_name=campaign.name,
        campaign_slug=campaign.slug,
        rows=plan.total_rows,
        importable=len(plan.rows),
        rejected=list(plan.rejected),
        duplicates=list(plan.duplicates),
        opted_out=0,
        custom_fields=set(plan.custom_fields),
        missing_fields=script_fields - plan.known_fields - plan.custom_fields - TURNOUT_FIELDS,
        notes=list(plan.notes),
    )


async def fetch(out: SlackOutbox, file_id: str) -> bytes:
    """The file's bytes, downloaded from Slack with the bot token.

    ``files.info`` gives the current download link (a ``file_share`` event may
    carry only a stub of the file). The token is sent only to Slack's own
    hosts, and redirects are not followed: Slack redirects a request it will
    not serve to its sign-in page.
    """
    rt = out.rt
    try:
        info = (await out.call("files.info", file=file_id)).get("file") or {}
    except GaveUp as refused:
        raise UploadRefused(f"Slack would not describe the file ({refused})") from None
    problem = refusal(info)  # the event may have carried only a stub
    if problem is not None:
        raise UploadRefused(problem)
    url = info.get("url_private_download") or info.get("url_private")
    if not isinstance(url, str) or not is_slack_url(url, rt.settings.slack_api_url):
        raise UploadRefused("Slack gave no download link on its own servers")
    token = rt.settings.slack_bot_token
    headers = {"Authorization": f"Bearer {token.get_secret_value() if token else ''}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as http,
            http.get(url, headers=headers, allow_redirects=False) as response,
        ):
            _check(response)
            return await _read_limited(response)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise Deferred(10.0, f"download of {file_id}: {type(exc).__name__}") from exc


def is_slack_url(url: str, api_url: str) -> bool:
    """Whether ``url`` is on the Slack the app talks to (files.slack.com for slack.com)."""
    target, api = URL(url), URL(api_url)
    if not target.host or not api.host or target.scheme not in ("https", api.scheme):
        return False
    return target.host == api.host or target.host.endswith("." + api.host)


def _check(response: aiohttp.ClientResponse) -> None:
    status = response.status
    login = status in _REDIRECTS or status in (401, 403) or response.content_type == "text/html"
    if login:
        raise UploadRefused(
            "Slack sent its sign-in page instead of the file. The app needs the files:read "
            "scope: reinstall it from app-manifest.yml."
        )
    if status == 404:
        raise UploadRefused("the file was deleted before I could read it")
    if status == 429 or status >= 500:
        raise Deferred(10.0, f"file download answered {status}")
    if status != 200:
        raise UploadRefused(f"Slack answered {status} to the download")


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    chunks, total = [], 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        total += len(chunk)
        if total > MAX_UPLOAD_BYTES:
            raise UploadRefused(too_big(total))
        chunks.append(chunk)
    return b"".join(chunks)


async def run_import(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """Kind.IMPORT_RUN: import the kept file, all or nothing; DM the report."""
    rt, payload = out.rt, delivery.payload
    user, pending_id = str(payload["user"]), int(payload["pending_id"])
    async with rt.db.sessions() as session:
        pending = await uploads.get(session, pending_id)
    if pending is None or pending.status != uploads.IMPORTING:
        return  # finished by an earlier run of this delivery
    name = escape_for_slack(pending.filename)
    try:
        report = await import_roster(
            rt.db,
            pending.campaign_id,
            pending.content,
            region=rt.settings.default_region,
            now=rt.now(),
        )
    except RosterError as exc:
        async with rt.db.transaction() as session:
            await uploads.back_to_pending(session, pending_id)
            why = escape_for_slack(str(exc))
            await tell(session, rt, user, f":x: Nothing from {name} was imported: {why}")
        rt.wake()
        return
    async with rt.db.transaction() as session:
        await uploads.finish_import(session, pending_id, now=rt.now(), report=report_counts(report))
        await events.audit(
            session,
            actor=user,
            action="import",
            now=rt.now(),
            campaign=report.campaign,
            rows=report.rows,
            file=pending.filename,
            created=report.created,
            updated=report.updated,
            rejected=len(report.rejected),
            source="slack",
        )
        await tell(session, rt, user, f":white_check_mark: {escape_for_slack(report.summary(20))}")
    rt.wake()


def report_counts(report: ImportReport) -> dict[str, Any]:
    """The figures kept with the pending import once it is done."""
    return {
        "campaign": report.campaign,
        "rows": report.rows,
        "importable": report.importable,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": len(report.rejected),
        "duplicates_merged": report.duplicates_merged,
        "already_opted_out": report.already_opted_out,
    }


async def _tell(rt: Runtime, user: str, text: str) -> None:
    async with rt.db.transaction() as session:
        await tell(session, rt, user, text)
    rt.wake()

"""The Mark-processed button under a replacements export."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.campaigns.lifecycle import CampaignError
from bot.campaigns.roles import NotAllowed
from bot.exports import export
from bot.runtime import Runtime


def _export_id(action: dict[str, Any]) -> int | None:
    try:
        return int(action.get("value") or "")
    except ValueError:
        return None


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(export.MARK_PROCESSED_ACTION)
    async def on_mark_processed(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        export_id = _export_id(action)
        if export_id is None:
            return
        try:
            text = await export.mark_processed(rt, body["user"]["id"], export_id=export_id)
        except (export.ExportError, NotAllowed, CampaignError) as problem:
            # The button stays, for an organiser to use; the refusal is for this user only.
            said = str(problem)
            await respond(text=said[0].upper() + said[1:], replace_original=False)
            return
        await respond(text=text, replace_original=True)

"""Buttons on a roster upload's preview: Import and Cancel.

Each only records the decision and queues the work (bot.uploads), so the
click is acknowledged at once even when the import itself takes seconds.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.roster import uploads
from bot.roster.upload_blocks import CANCEL_ACTION, IMPORT_ACTION
from bot.runtime import Runtime


def _pending_id(action: dict[str, Any]) -> int | None:
    try:
        return int(action.get("value") or "")
    except ValueError:
        return None


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(IMPORT_ACTION)
    async def on_import(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        pending_id = _pending_id(action)
        if pending_id is not None:
            await uploads.confirm_import(rt, body["user"]["id"], pending_id)

    @app.action(CANCEL_ACTION)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        pending_id = _pending_id(action)
        if pending_id is not None:
            await uploads.cancel_import(rt, body["user"]["id"], pending_id)

"""Buttons: Claim on a support-channel card."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import claims
from bot.blocks import CLAIM_ACTION
from bot.runtime import Runtime


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(CLAIM_ACTION)
    async def on_claim(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        try:
            conversation_id = int(action.get("value") or "")
        except ValueError:
            return
        channel = (body.get("channel") or {}).get("id")
        await claims.claim(rt, conversation_id, body["user"]["id"], channel=channel)

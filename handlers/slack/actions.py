"""Buttons: Claim, Send next, I agree, Skip, Release."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.bridge import claims
from bot.bridge.blocks import CLAIM_ACTION, RELEASE_ACTION
from bot.campaigns import assignment, gate, home, sending
from bot.runtime import Runtime


def _id(action: dict[str, Any]) -> int | None:
    try:
        return int(action.get("value") or "")
    except ValueError:
        return None


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(CLAIM_ACTION)
    async def on_claim(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        conversation_id = _id(action)
        if conversation_id is not None:
            channel = (body.get("channel") or {}).get("id")
            await claims.claim(rt, conversation_id, body["user"]["id"], channel=channel)

    @app.action(home.SEND_NEXT_ACTION)
    async def on_send_next(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        outcome = await sending.send_next(rt, body["user"]["id"], conversation_id=_id(action))
        if not outcome.sent:
            await home.tell(rt, body["user"]["id"], outcome.text, outcome.blocks)

    @app.action(gate.AGREE_ACTION)
    async def on_agree(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        campaign_id = _id(action)
        if campaign_id is not None:
            await gate.agree(rt, body["user"]["id"], campaign_id)

    @app.action(sending.SKIP_ACTION)
    async def on_skip(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        conversation_id = _id(action)
        if conversation_id is not None:
            await sending.skip(rt, body["user"]["id"], conversation_id, "skipped by activist")

    @app.action(RELEASE_ACTION)
    async def on_release(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        conversation_id = _id(action)
        if conversation_id is not None:
            await assignment.release(rt, body["user"]["id"], conversation_id)

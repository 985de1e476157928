"""The support channel's escalation cards: Claim and Reassign."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.bridge.support_posts import ESCALATION_CLAIM, ESCALATION_REASSIGN
from bot.campaigns import assignment
from bot.campaigns.roles import NotAllowed
from bot.runtime import Runtime


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(ESCALATION_CLAIM)
    async def on_claim(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user = body["user"]["id"]
        reply = await _move(rt, user, action.get("value"), user)
        await respond(text=reply, response_type="ephemeral", replace_original=False)

    @app.action(ESCALATION_REASSIGN)
    async def on_reassign(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        conversation = str(action.get("block_id", "")).removeprefix("escalation_")
        target = action.get("selected_user")
        if not target:
            return
        reply = await _move(rt, body["user"]["id"], conversation, str(target))
        await respond(text=reply, response_type="ephemeral", replace_original=False)


async def _move(rt: Runtime, actor: str, conversation: object, owner: str) -> str:
    try:
        return await assignment.take_over(rt, actor, int(str(conversation)), owner)
    except (ValueError, NotAllowed) as problem:
        return str(problem) if isinstance(problem, NotAllowed) else "That card is out of date."

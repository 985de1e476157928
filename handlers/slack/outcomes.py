"""Outcome buttons, the opt-out button and the replacement-ballot modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bridge.card_actions import OPT_OUT_ACTION, OUTCOME_ACTION, OUTCOME_PREFIX
from bot.campaigns.home import tell
from bot.runtime import Runtime
from bot.scripts import outcomes, replacement_modal, suggestion_actions


def _id(action: dict[str, Any]) -> int | None:
    try:
        return int(action.get("value") or "")
    except ValueError:
        return None


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(OUTCOME_ACTION)
    async def on_outcome(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        conversation_id, user = _id(action), body["user"]["id"]
        key = str(action["action_id"]).removeprefix(OUTCOME_PREFIX)
        if conversation_id is None:
            return
        try:
            if await outcomes.needs_details(rt, user, conversation_id, key):
                # The trigger id lives three seconds: the modal opens here, not later.
                await client.views_open(
                    trigger_id=body["trigger_id"],
                    view=await replacement_modal.for_conversation(rt, conversation_id, key),
                )
                return
            await outcomes.record(rt, user, conversation_id, key)
        except outcomes.OutcomeError as problem:
            await tell(rt, user, str(problem), [])

    @app.action(OPT_OUT_ACTION)
    async def on_opt_out(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        conversation_id = _id(action)
        if conversation_id is None:
            return
        try:
            await outcomes.opt_out(rt, body["user"]["id"], conversation_id)
        except outcomes.OutcomeError as problem:
            await tell(rt, body["user"]["id"], str(problem), [])

    @app.view(replacement_modal.CALLBACK)
    async def on_details(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        conversation_id, key, details, errors = replacement_modal.read(view)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        try:
            await outcomes.record(rt, body["user"]["id"], conversation_id, key, replacement=details)
            await suggestion_actions.details_sent(rt, conversation_id, key)
        except outcomes.OutcomeError as problem:
            await ack(
                response_action="errors", errors={replacement_modal.NOTES_BLOCK: str(problem)}
            )
            return
        await ack()

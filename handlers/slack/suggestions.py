"""The buttons under a member's text: record the suggested outcome, send its script."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bridge.card_actions import SUGGESTED_OUTCOME_ACTION, SUGGESTED_SCRIPT_ACTION
from bot.campaigns.home import tell
from bot.runtime import Runtime
from bot.scripts import canned, outcomes, replacement_modal, suggestion_actions


def _message_id(action: dict[str, Any]) -> int | None:
    value = str(action.get("value") or "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(SUGGESTED_OUTCOME_ACTION)
    async def on_outcome(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        message_id, user = _message_id(action), body["user"]["id"]
        if message_id is None:
            return
        try:
            taken = await suggestion_actions.take_outcome(rt, user, message_id)
        except outcomes.OutcomeError as problem:
            await tell(rt, user, str(problem), [])
            return
        if taken.needs_details:
            # The trigger id lives three seconds: the modal opens here, not later.
            await client.views_open(
                trigger_id=body["trigger_id"],
                view=await replacement_modal.for_conversation(
                    rt, taken.conversation_id, taken.outcome
                ),
            )

    @app.action(SUGGESTED_SCRIPT_ACTION)
    async def on_script(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        message_id, user = _message_id(action), body["user"]["id"]
        if message_id is None:
            return
        try:
            await suggestion_actions.take_script(rt, user, message_id)
        except (outcomes.OutcomeError, canned.ScriptError) as problem:
            await tell(rt, user, str(problem), [])

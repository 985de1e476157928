"""Ask for help: the card button, its modal, and coordinators' answers."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bridge import support
from bot.bridge.card_actions import ASK_ACTION
from bot.runtime import Runtime


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(ASK_ACTION)
    async def on_ask(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        value = str(action.get("value") or "")
        if not value.isdigit():
            return
        # The trigger id lives three seconds: the modal opens here.
        await client.views_open(
            trigger_id=body["trigger_id"], view=await support.question_view(rt, int(value))
        )

    @app.view(support.ASK_CALLBACK)
    async def on_question(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values", {})
        question = (values.get(support.QUESTION_BLOCK, {}).get(support.QUESTION_ACTION) or {}).get(
            "value"
        ) or ""
        try:
            await support.ask_for_help(
                rt, body["user"]["id"], int(view.get("private_metadata") or 0), question
            )
        except support.HelpError as problem:
            await ack(response_action="errors", errors={support.QUESTION_BLOCK: str(problem)})
            return
        await ack()

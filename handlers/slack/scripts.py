"""Scripts from Slack: the modal, its pickers, and the script menu on a card."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bridge.card_actions import SCRIPT_MENU_ACTION
from bot.runtime import Runtime
from bot.scripts import canned, script_modal


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(SCRIPT_MENU_ACTION)
    async def on_menu(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        value = (action.get("selected_option") or {}).get("value", "")
        conversation, _, script = value.partition(":")
        if not conversation.isdigit():
            return
        view = await script_modal.build(rt, body["user"]["id"], int(conversation), script)
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(script_modal.PICK_CONVERSATION)
    @app.action(script_modal.PICK_SCRIPT)
    async def on_pick(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        view = body["view"]
        conversation, script = script_modal.choices(view, action)
        rebuilt = await script_modal.build(rt, body["user"]["id"], conversation, script)
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=rebuilt)

    @app.action(script_modal.USE_GSM_ACTION)
    async def on_use_gsm(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        view = body["view"]
        rebuilt = script_modal.with_gsm_text(view, str(action.get("value")))
        await client.views_update(view_id=view["id"], hash=view.get("hash"), view=rebuilt)

    @app.view(script_modal.CALLBACK)
    async def on_send(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        conversation, _, text, block_id = script_modal.submitted(view)
        if conversation is None or text is None or block_id is None:
            await ack(
                response_action="errors", errors={"pickers": "Pick a conversation and a script."}
            )
            return
        try:
            await canned.send_text(
                rt, body["user"]["id"], conversation, text, key=f"modal:{view['id']}"
            )
        except canned.ScriptError as problem:
            await ack(response_action="errors", errors={block_id: str(problem)})
            return
        await ack()


async def open_modal(rt: Runtime, client: AsyncWebClient, user: str, trigger_id: str) -> None:
    """`/turnout scripts`: the modal, opened at once (its trigger id lives three seconds)."""
    await client.views_open(trigger_id=trigger_id, view=await script_modal.build(rt, user))

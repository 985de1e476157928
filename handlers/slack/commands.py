"""The `/turnout` slash command: parse nothing here, dispatch, answer privately."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import slash
from bot.runtime import Runtime
from handlers.slack.scripts import open_modal


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.command("/turnout")
    async def on_turnout(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        if (command.get("text") or "").strip().lower() == "scripts":
            await ack()
            await open_modal(rt, client, command["user_id"], command["trigger_id"])
            return
        reply = await slash.dispatch(rt, command["user_id"], command.get("text") or "")
        await ack(text=reply.text, blocks=reply.blocks or None)

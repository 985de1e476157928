"""The `/turnout` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.runtime import Runtime

HELP = (
    "*Turnout* — text members one to one from Slack.\n"
    "• Reply in a member's thread in this DM to text them; their replies arrive there.\n"
    "• Replies nobody owns appear in the support channel with a *Claim* button.\n"
    "• `/turnout help` — this message."
)


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.command("/turnout")
    async def on_turnout(ack: AsyncAck, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        if not words or words[0].lower() == "help":
            await ack(text=HELP)
            return
        await ack(text=f"I don't know `{words[0]}`.\n\n{HELP}")

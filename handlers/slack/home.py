"""App Home: redraw the activist's queue whenever they open it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.campaigns import home
from bot.runtime import Runtime


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            await home.refresh(rt, event["user"])

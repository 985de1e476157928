"""Slack's surfaces, each registering its own listeners on the Bolt app."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from handlers.slack import (
    actions,
    commands,
    events,
    exports,
    home,
    outcomes,
    scripts,
    suggestions,
    support,
    support_help,
    uploads,
)


def register(app: AsyncApp, rt: Runtime) -> None:
    surfaces = (events, actions, commands, home, uploads, outcomes, scripts, support, exports)
    for surface in (*surfaces, support_help, suggestions):
        surface.register(app, rt)


def mount(web_app: web.Application, app: AsyncApp) -> None:
    """Serve Bolt at POST /slack/events: events, commands and interactivity alike."""

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app.router.add_post("/slack/events", slack_events)

"""`GET /healthz`: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

from aiohttp import web

from bot.runtime import Runtime


def register(web_app: web.Application, rt: Runtime) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        if await rt.db.ping():
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "error": "database unavailable"}, status=503)

    web_app.router.add_get("/healthz", healthz)

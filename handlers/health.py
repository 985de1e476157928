"""`GET /healthz` (200 when the database answers, 503 when it does not) and
`GET /metrics` (Prometheus text format; see `bot.metrics`)."""

from __future__ import annotations

from aiohttp import web

from bot.metrics import CONTENT_TYPE
from bot.runtime import Runtime


def register(web_app: web.Application, rt: Runtime) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        if await rt.db.ping():
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "error": "database unavailable"}, status=503)

    async def metrics(_request: web.Request) -> web.Response:
        body = await rt.metrics.render(rt.db, rt.now())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)

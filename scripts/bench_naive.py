#!/usr/bin/env python3
"""The baselines `scripts/bench.py inbound` measures Turnout against.

    bench_naive.py bare PORT          # aiohttp + Twilio's RequestValidator, stores nothing
    bench_naive.py naive PORT URL     # the same, committing one row a request first

What a new user would write for "store every incoming text before saying
200": one transaction, one INSERT, one commit per request (SQLAlchemy Core;
aiosqlite or asyncpg). A duplicate MessageSid is ignored, as Twilio retries.
SQLite gets the settings Turnout uses (WAL, synchronous=NORMAL, a busy
timeout), so the comparison is of the code, not of the settings.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import create_async_engine
from twilio.request_validator import RequestValidator

TOKEN = "bench-auth-token"
PUBLIC = "https://bench.example.org"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

metadata = MetaData()
texts = Table(
    "texts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sid", String(64), unique=True, nullable=False),
    Column("phone", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


def app(kind: str, url: str) -> web.Application:
    validator = RequestValidator(TOKEN)
    engine = create_async_engine(url) if kind == "naive" else None
    dialect = postgresql if url.startswith("postgresql") else sqlite
    if engine is not None and dialect is sqlite:
        # The settings Turnout runs SQLite with, so the two are compared fairly.
        @event.listens_for(engine.sync_engine, "connect")
        def _tune(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

    async def start(_app: web.Application) -> None:
        if engine is not None:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)

    async def incoming(request: web.Request) -> web.Response:
        form = await request.post()
        params = {k: str(v) for k, v in form.items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(PUBLIC + request.path_qs, params, signature):
            return web.Response(status=403)
        if engine is not None:
            row = {
                "sid": params["MessageSid"],
                "phone": params["From"],
                "body": params.get("Body", ""),
                "received_at": datetime.now(UTC),
            }
            async with engine.begin() as conn:
                insert = dialect.insert(texts).values(**row).on_conflict_do_nothing()
                await conn.execute(insert)
        return web.Response(text=TWIML, content_type="text/xml")

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.on_startup.append(start)
    web_app.router.add_post("/twilio/inbound", incoming)
    web_app.router.add_get("/healthz", health)
    return web_app


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    url = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else "sqlite+aiosqlite://"
    web.run_app(app(kind, url), host="127.0.0.1", port=port, print=None, access_log=None)

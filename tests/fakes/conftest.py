"""Fixtures for the FakeSlack tests: a running FakeSlack, a real slack_sdk client on it,
and a stand-in for the app that checks the signatures of what the fake sends it.

test_fakes_twilio.py defines its own `fake`, `client` and `receiver` (for FakeTwilio),
which take precedence over these in that module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.fakes.slack import FakeSlack

SECRET = "test-signing-secret"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(signing_secret=SECRET)
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
async def client(fake: FakeSlack) -> AsyncIterator[AsyncWebClient]:
    web_client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    yield web_client
    if web_client.session is not None:
        await web_client.session.close()


class Receiver:
    """A stand-in for the app: verifies Slack signatures and records what arrived."""

    def __init__(self, secret: str = SECRET) -> None:
        self.verifier = SignatureVerifier(secret)
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slack/events", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/slack/events"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        valid = self.verifier.is_valid_request(body, dict(request.headers))
        self.requests.append({"headers": dict(request.headers), "body": body, "valid": valid})
        return web.Response(status=200 if valid else 401, text="ok" if valid else "bad sig")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = Receiver()
    await app.start()
    yield app
    await app.stop()

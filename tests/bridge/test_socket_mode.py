"""Socket Mode end to end: the real slack_sdk SocketModeClient under Bolt, against FakeSlack.

The app fetches a WebSocket URL from ``apps.connections.open`` with its app-level token,
connects, and FakeSlack pushes envelopes over it and records the acks that come back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.fakes.slack import DEFAULT_APP_TOKEN, FakeSlack
from bot.fakes.world import World
from storage.models import Message
from tests.conftest import eventually
from tests.helpers import ALICE, SAM_PHONE, rows, started_thread

SECRET = "socket-test-signing-secret"


@pytest.fixture
async def socket_world(database_url: str) -> AsyncIterator[World]:
    w = await World.start(database_url, slack_app_token=DEFAULT_APP_TOKEN)
    try:
        yield w
    finally:
        await w.stop()


async def test_thread_reply_pushed_over_the_socket_becomes_one_sms(socket_world: World) -> None:
    world = socket_world
    await world.slack.wait_for_socket()
    assert len(world.slack.calls_to("apps.connections.open")) == 1
    dm, thread_ts = await started_thread(world)

    event = world.slack.post_as_user(dm, ALICE, "Polls close at *10pm*", thread_ts=thread_ts)
    ack = await world.slack.push_event(event, event_id="Ev0SOCKET01")
    # Bolt acks an event with the envelope id alone, and only after the listener committed.
    assert set(ack) == {"envelope_id"} and world.slack.socket_acks == [ack]
    [queued] = await rows(world, Message, direction="out")
    assert queued.status == "pending" and world.twilio.sent_to(SAM_PHONE) == []
    await world.drain()
    assert [m["body"] for m in world.twilio.sent_to(SAM_PHONE)] == ["Polls close at 10pm"]

    # Slack redelivers an unacked event in a new envelope with the same event_id.
    retry = await world.slack.push_event(
        event, event_id="Ev0SOCKET01", retry_attempt=1, retry_reason="timeout"
    )
    assert retry["envelope_id"] != ack["envelope_id"]
    await world.drain()
    assert len(world.twilio.sent_to(SAM_PHONE)) == 1
    assert len(await rows(world, Message, direction="out")) == 1
    assert [len(a) for a in world.slack.socket_acks] == [1, 1]


@pytest.mark.parametrize(
    ("app_token", "error"),
    [("xapp-not-this-app", "invalid_auth"), ("xoxb-fake-token", "not_allowed_token_type")],
)
async def test_a_refused_app_token_fails_start_at_once(
    database_url: str, app_token: str, error: str
) -> None:
    # slack_sdk alone would log and retry apps.connections.open forever.
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"apps\.connections\.open \({error}\).*xapp-"):
        await World.start(database_url, slack_app_token=app_token)
    assert time.monotonic() - started < 3


# -- the fake itself, with a bare Bolt app (no database) ----------------------------------


class BoltOnSocket:
    """A minimal Bolt app connected to a FakeSlack through AsyncSocketModeHandler."""

    def __init__(self, fake: FakeSlack, app_token: str = DEFAULT_APP_TOKEN) -> None:
        self.client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        # Ack after the listener ran, as Turnout does, so a test can assert straight away.
        self.bolt = AsyncApp(
            signing_secret=SECRET, client=self.client, process_before_response=True
        )
        self.handler = AsyncSocketModeHandler(self.bolt, app_token)

    async def close(self) -> None:
        await self.handler.close_async()  # type: ignore[no-untyped-call]
        if self.client.session is not None:
            await self.client.session.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(signing_secret=SECRET)
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
async def bolt(fake: FakeSlack) -> AsyncIterator[BoltOnSocket]:
    app = BoltOnSocket(fake)
    yield app
    await app.close()


async def test_connections_open_takes_only_the_app_token(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    opened = await client.apps_connections_open(app_token=DEFAULT_APP_TOKEN)
    assert str(opened["url"]).startswith(fake.workspace.base_url.replace("http:", "ws:") + "/")
    for token, error in [("xapp-other", "invalid_auth"), (fake.bot_token, "not_allowed")]:
        with pytest.raises(SlackApiError) as refused:
            await client.apps_connections_open(app_token=token)
        assert str(refused.value.response["error"]).startswith(error)
    # The app-level token is no bot token either.
    with pytest.raises(SlackApiError) as denied:
        await client.auth_test(token=DEFAULT_APP_TOKEN)
    assert denied.value.response["error"] == "not_allowed_token_type"
    assert [c.error for c in fake.calls] == [
        None,
        "invalid_auth",
        "not_allowed_token_type",
        "not_allowed_token_type",
    ]


async def test_commands_actions_and_events_are_acked(fake: FakeSlack, bolt: BoltOnSocket) -> None:
    seen: list[str] = []

    @bolt.bolt.command("/turnout")
    async def command(ack: Callable[..., Awaitable[None]], command: dict[str, Any]) -> None:
        await ack(text=f"you said {command['text']}")

    @bolt.bolt.action("card_voted")
    async def voted(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        seen.append(f"{body['user']['id']} clicked {body['actions'][0]['value']}")

    @bolt.bolt.event("message")
    async def message(event: dict[str, Any]) -> None:
        seen.append(f"message {event['text']}")

    assert not fake.socket_connected
    await bolt.handler.connect_async()  # type: ignore[no-untyped-call]
    await fake.wait_for_socket(timeout=2)

    reply = await fake.push_command(user_id=ALICE, text="stats")
    assert reply["payload"] == {"text": "you said stats"}
    dm = fake.dm_channel(ALICE)
    card = fake.post_as_user(dm, ALICE, "card")
    click = await fake.push_block_action(
        user_id=ALICE, action_id="card_voted", value="42", channel_id=dm, message_ts=card["ts"]
    )
    assert set(click) == {"envelope_id"}
    await fake.push_event(fake.post_as_user(dm, ALICE, "hi"))
    assert seen == [f"{ALICE} clicked 42", "message hi"]
    assert len(fake.socket_acks) == 3
    assert len({a["envelope_id"] for a in fake.socket_acks}) == 3


async def test_an_unacked_envelope_times_out(fake: FakeSlack, bolt: BoltOnSocket) -> None:
    # No listener for the action: Bolt answers 404 and, in Socket Mode, sends no ack.
    await bolt.handler.connect_async()  # type: ignore[no-untyped-call]
    await fake.wait_for_socket(timeout=2)
    with pytest.raises(TimeoutError, match="no ack for interactive"):
        await fake.push_block_action(user_id=ALICE, action_id="nobody_listens", timeout=0.3)
    assert fake.socket_acks == []


async def test_disconnect_makes_the_client_reconnect(fake: FakeSlack, bolt: BoltOnSocket) -> None:
    @bolt.bolt.command("/turnout")
    async def command(ack: Callable[..., Awaitable[None]]) -> None:
        await ack(text="still here")

    await bolt.handler.connect_async()  # type: ignore[no-untyped-call]
    await fake.wait_for_socket(timeout=2)
    await fake.disconnect_socket()
    await fake.wait_for_socket(timeout=2, connections=2)
    assert len(fake.calls_to("apps.connections.open")) == 2
    reply = await fake.push_command(user_id=ALICE, text="")
    assert reply["payload"] == {"text": "still here"}


async def test_push_without_a_client_is_an_error(fake: FakeSlack) -> None:
    with pytest.raises(RuntimeError, match="no Socket Mode client"):
        await fake.push_event({"type": "message"})
    with pytest.raises(TimeoutError):
        await fake.wait_for_socket(timeout=0.1)


async def test_stop_closes_a_connected_socket_promptly(fake: FakeSlack) -> None:
    app = BoltOnSocket(fake)
    # A client that stops reconnecting once the fake is gone, as at the end of a test run.
    app.handler.client.default_auto_reconnect_enabled = False
    try:
        await app.handler.connect_async()  # type: ignore[no-untyped-call]
        await fake.wait_for_socket(timeout=2)
        started = time.monotonic()
        await fake.stop()
        assert time.monotonic() - started < 1.5
        assert not fake.socket_connected
        session = app.handler.client.current_session
        assert session is not None
        await eventually(lambda: session.closed, timeout=1)  # the client saw the close frame
    finally:
        await app.close()

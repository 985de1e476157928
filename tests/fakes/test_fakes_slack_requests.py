"""FakeSlack's signed requests to the app (events, commands, actions, views), checked by
the real SignatureVerifier and by Bolt itself.

These tests pin down the Slack behaviour the rest of the suite relies on; if one fails the
fake has drifted from Slack, and tests built on it would prove nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.fakes.slack import FakeSlack
from tests.fakes.conftest import SECRET, Receiver


def _form(body: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


# -- signed requests to the app ----------------------------------------------------------


async def test_send_event_is_signed_and_retries_are_marked(
    fake: FakeSlack, receiver: Receiver
) -> None:
    event = fake.post_as_user("D1", "U1", "hello")
    status, _ = await fake.send_event(receiver.url, event, event_id="Ev1")
    assert status == 200
    first = receiver.requests[0]
    assert first["valid"] and "X-Slack-Retry-Num" not in first["headers"]
    envelope = json.loads(first["body"])
    assert envelope["type"] == "event_callback" and envelope["event"] == event
    assert envelope["event_id"] == "Ev1" and envelope["api_app_id"] == "A0TURNOUT"
    assert envelope["authorizations"][0]["user_id"] == "U0BOT"
    await fake.send_event(receiver.url, event, event_id="Ev1", retry_num=1)
    retry = receiver.requests[1]
    assert retry["valid"] and retry["headers"]["X-Slack-Retry-Num"] == "1"
    assert retry["headers"]["X-Slack-Retry-Reason"] == "http_timeout"
    assert json.loads(retry["body"])["event_id"] == "Ev1"
    forged, _ = await fake.send_event(receiver.url, event, signing_secret="not-the-secret")
    assert forged == 401 and receiver.requests[2]["valid"] is False


async def test_command_and_response_url(fake: FakeSlack, receiver: Receiver) -> None:
    await fake.send_command(receiver.url, user_id="U1", text="stats")
    form = _form(receiver.requests[0]["body"])
    assert receiver.requests[0]["valid"]
    assert (form["command"], form["text"], form["user_id"]) == ("/turnout", "stats", "U1")
    assert form["channel_id"] == "D1" and form["trigger_id"] and form["team_id"] == "T0TURNOUT"
    webhook = AsyncWebhookClient(form["response_url"])
    assert (await webhook.send(text="42 texts sent")).status_code == 200
    assert fake.responses == [{"text": "42 texts sent"}]
    assert fake.ephemerals("U1")[0]["text"] == "42 texts sent"


async def test_block_action_carries_message_and_replace_original(
    fake: FakeSlack, client: AsyncWebClient, receiver: Receiver
) -> None:
    card = await client.chat_postMessage(channel="D1", text="card", blocks=[])
    await fake.send_block_action(
        receiver.url,
        user_id="U1",
        action_id="outcome:voted",
        value="7",
        channel_id="D1",
        message_ts=card["ts"],
    )
    assert receiver.requests[0]["valid"]
    payload = json.loads(_form(receiver.requests[0]["body"])["payload"])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U1"
    assert payload["actions"][0]["action_id"] == "outcome:voted"
    assert payload["actions"][0]["value"] == "7"
    assert payload["message"]["ts"] == card["ts"] and payload["container"]["channel_id"] == "D1"
    webhook = AsyncWebhookClient(payload["response_url"])
    await webhook.send(text="voted ✔", replace_original=True)
    assert fake.messages("D1")[0]["text"] == "voted ✔"


async def test_view_submission(fake: FakeSlack, receiver: Receiver) -> None:
    await fake.send_view_submission(
        receiver.url,
        user_id="U1",
        callback_id="replacement",
        values={"address": {"line1": "1 High St"}},
        private_metadata="conv=7",
    )
    payload = json.loads(_form(receiver.requests[0]["body"])["payload"])
    assert payload["type"] == "view_submission"
    assert payload["view"]["callback_id"] == "replacement"
    assert payload["view"]["private_metadata"] == "conv=7"
    assert payload["view"]["state"]["values"]["address"]["line1"]["value"] == "1 High St"


async def test_bolt_app_round_trip(fake: FakeSlack) -> None:
    """The fake is good enough for Bolt itself: auth.test, signature check, say()."""
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    bolt = AsyncApp(signing_secret=SECRET, client=client)

    @bolt.event("message")
    async def echo(event: dict[str, Any], say: Callable[..., Awaitable[Any]]) -> None:
        await say(text=f"got: {event['text']}", thread_ts=event["ts"])

    runner = web.AppRunner(bolt.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        event = fake.post_as_user("D1", "U1", "hello")
        status, _ = await fake.send_event(f"http://{host}:{port}/slack/events", event)
        assert status == 200
        await fake.wait_for("chat.postMessage", seconds=2)
        [_, answer] = fake.thread("D1", event["ts"])
        assert answer["text"] == "got: hello" and answer["user"] == "U0BOT"
        forged, _ = await fake.send_event(
            f"http://{host}:{port}/slack/events", event, signing_secret="wrong"
        )
        assert forged == 401
    finally:
        await runner.cleanup()
        if client.session is not None:
            await client.session.close()

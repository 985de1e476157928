"""FakeSlack against the real slack_sdk client, Bolt and SignatureVerifier.

These tests pin down the Slack behaviour the rest of the suite relies on; if one fails the
fake has drifted from Slack, and tests built on it would prove nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.fakes.slack import FakeSlack, live_tokens
from tests.fakes.conftest import SECRET, Receiver

C = "C0SUPPORT"


async def _error(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


# -- Web API ---------------------------------------------------------------------------


async def test_auth_test_and_bad_tokens(fake: FakeSlack, client: AsyncWebClient) -> None:
    me = await client.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"]) == ("U0BOT", "B0BOT", "T0TURNOUT")
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url)
    assert (await _error(wrong.auth_test())).response["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=fake.api_url)
    assert (await _error(anonymous.auth_test())).response["error"] == "not_authed"
    assert (await _error(client.api_call("no.such"))).response["error"] == "unknown_method"


async def test_post_thread_reply_and_increasing_ts(fake: FakeSlack, client: AsyncWebClient) -> None:
    metadata = {"event_type": "turnout_card", "event_payload": {"conversation_id": 7}}
    parent = await client.chat_postMessage(channel="D1", text="card", metadata=metadata)
    reply = await client.chat_postMessage(channel="D1", text="hi", thread_ts=parent["ts"])
    assert parent["message"]["bot_id"] == "B0BOT" and parent["channel"] == "D1"
    assert float(reply["ts"]) > float(parent["ts"])
    thread = fake.thread("D1", parent["ts"])
    assert [m["text"] for m in thread] == ["card", "hi"]
    assert thread[1]["thread_ts"] == parent["ts"] and thread[1]["user"] == "U0BOT"
    assert thread[0]["metadata"]["event_payload"] == {"conversation_id": 7}
    missing = await _error(client.chat_postMessage(channel="D1", text="x", thread_ts="1.000001"))
    assert missing.response["error"] == "thread_not_found"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk's own nudge; Slack refuses
        empty = await _error(client.chat_postMessage(channel="D1", text=""))
    assert empty.response["error"] == "no_text"
    assert [m["text"] for m in fake.messages("D1")] == ["card"]  # replies live in the thread
    assert len(fake.messages("D1", include_replies=True)) == 2


async def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    await client.api_call("chat.postMessage", data={"channel": C, "blocks": json.dumps(blocks)})
    assert fake.messages(C)[0]["blocks"] == blocks
    assert fake.calls_to("chat.postMessage")[0]["blocks"] == blocks


async def test_post_to_user_id_lands_in_dm(fake: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U123")
    assert opened["channel"]["id"] == fake.dm_channel("U123") == "D123"
    posted = await client.chat_postMessage(channel="U123", text="assigned")
    assert posted["channel"] == "D123" and fake.messages("D123")[0]["text"] == "assigned"


async def test_update_and_delete_only_bot_messages(fake: FakeSlack, client: AsyncWebClient) -> None:
    mine = await client.chat_postMessage(channel=C, text="sending…")
    updated = await client.chat_update(channel=C, ts=mine["ts"], text="delivered")
    assert updated["message"]["edited"]["user"] == "U0BOT"
    assert fake.messages(C)[0]["text"] == "delivered"
    human = fake.post_as_user(C, "U1", "hello")
    refused = await _error(client.chat_update(channel=C, ts=human["ts"], text="x"))
    assert refused.response["error"] == "cant_update_message"
    unknown = await _error(client.chat_update(channel=C, ts="1.000001", text="x"))
    assert unknown.response["error"] == "message_not_found"
    await client.chat_delete(channel=C, ts=mine["ts"])
    assert [m["text"] for m in fake.messages(C)] == ["hello"]


async def test_reactions(fake: FakeSlack, client: AsyncWebClient) -> None:
    ts = (await client.chat_postMessage(channel=C, text="x"))["ts"]
    await client.reactions_add(channel=C, timestamp=ts, name="white_check_mark")
    again = await _error(client.reactions_add(channel=C, timestamp=ts, name="white_check_mark"))
    assert again.response["error"] == "already_reacted"
    assert fake.messages(C)[0]["reactions"] == [
        {"name": "white_check_mark", "users": ["U0BOT"], "count": 1}
    ]
    await client.reactions_remove(channel=C, timestamp=ts, name="white_check_mark")
    assert fake.messages(C)[0]["reactions"] == []
    gone = await _error(client.reactions_remove(channel=C, timestamp=ts, name="white_check_mark"))
    assert gone.response["error"] == "no_reaction"


async def test_rate_limit_then_success(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.rate_limit("chat.postMessage", retry_after=7)
    limited = await _error(client.chat_postMessage(channel=C, text="x"))
    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "7"
    assert limited.response["error"] == "ratelimited"
    assert fake.messages(C) == []
    await client.chat_postMessage(channel=C, text="x")
    assert len(fake.messages(C)) == 1
    assert [c.error for c in fake.calls if c.method == "chat.postMessage"] == ["ratelimited", None]


async def test_fail_and_delay(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail("chat.postMessage", "channel_not_found", times=2)
    for _ in range(2):
        failed = await _error(client.chat_postMessage(channel=C, text="x"))
        assert failed.response.status_code == 200
        assert failed.response["error"] == "channel_not_found"
    fake.delay("auth.test", 0.2)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.2
    assert fake.messages(C) == []


async def test_history_and_replies_order_and_metadata(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "turnout_card", "event_payload": {"id": 1}}
    first = await client.chat_postMessage(channel="D1", text="one", metadata=metadata)
    await client.chat_postMessage(channel="D1", text="reply", thread_ts=first["ts"])
    await client.chat_postMessage(channel="D1", text="two")
    history = await client.conversations_history(channel="D1")
    assert [m["text"] for m in history["messages"]] == ["two", "one"]
    assert "metadata" not in history["messages"][1]
    assert history["messages"][1]["reply_count"] == 1
    with_meta = await client.conversations_history(channel="D1", include_all_metadata=True)
    assert with_meta["messages"][1]["metadata"] == metadata
    newer = await client.conversations_history(channel="D1", oldest=first["ts"])
    assert [m["text"] for m in newer["messages"]] == ["two"]
    page = await client.conversations_history(channel="D1", limit=1)
    assert page["has_more"] is True and [m["text"] for m in page["messages"]] == ["two"]
    replies = await client.conversations_replies(channel="D1", ts=first["ts"])
    assert [m["text"] for m in replies["messages"]] == ["one", "reply"]
    assert "metadata" not in replies["messages"][0]
    replies = await client.conversations_replies(
        channel="D1", ts=first["ts"], include_all_metadata=True
    )
    assert replies["messages"][0]["metadata"] == metadata


async def test_users_info(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.add_user("U1", "Alice Smith", display_name="alice", email="alice@example.org")
    user = (await client.users_info(user="U1"))["user"]
    assert user["real_name"] == "Alice Smith"
    assert user["profile"]["email"] == "alice@example.org"
    assert (await _error(client.users_info(user="U404"))).response["error"] == "user_not_found"


async def test_permalink_ephemeral_and_home(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=C, text="help?")
    reply = await client.chat_postMessage(channel=C, text="on it", thread_ts=parent["ts"])
    link = (await client.chat_getPermalink(channel=C, message_ts=reply["ts"]))["permalink"]
    assert link.startswith("https://") and C in link and reply["ts"].replace(".", "") in link
    eph = await client.chat_postEphemeral(channel=C, user="U1", text="only you")
    assert fake.ephemerals("U1")[0]["text"] == "only you" and eph["message_ts"]
    assert fake.ephemerals("U2") == []
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "q"}}],
    }
    await client.views_publish(user_id="U1", view=home)
    await client.views_publish(user_id="U1", view={**home, "blocks": []})
    published = fake.home_view("U1")
    assert published is not None and published["blocks"] == [] and published["id"]


async def test_modals_need_a_real_trigger(
    fake: FakeSlack, client: AsyncWebClient, receiver: Receiver
) -> None:
    modal = {
        "type": "modal",
        "callback_id": "scripts",
        "title": {"type": "plain_text", "text": "S"},
    }
    bad = await _error(client.views_open(trigger_id="made.up", view=modal))
    assert bad.response["error"] == "invalid_trigger_id"
    await fake.send_command(receiver.url, user_id="U1", text="scripts", trigger_id="1.2.abc")
    opened = (await client.views_open(trigger_id="1.2.abc", view=modal))["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "scripts"
    updated = await client.views_update(view_id=opened["id"], view={**modal, "callback_id": "x"})
    assert updated["view"]["id"] == opened["id"]
    assert (fake.modal(opened["id"]) or {})["callback_id"] == "x"
    stale = await _error(client.views_update(view_id=opened["id"], view=modal, hash="old"))
    assert stale.response["error"] == "hash_conflict"


async def test_files_upload_v2(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.files_upload_v2(
        channel="D1", content="a,b\n1,2\n", filename="out.csv", initial_comment="export"
    )
    [upload] = fake.uploads
    assert upload["content"] == b"a,b\n1,2\n"
    assert (upload["filename"], upload["channel_id"], upload["initial_comment"]) == (
        "out.csv",
        "D1",
        "export",
    )


# -- humans and rendering --------------------------------------------------------------


async def test_human_events(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="D1", text="card")
    event = fake.post_as_user("D1", "U1", "hi there", thread_ts=parent["ts"])
    assert event["type"] == "message" and event["channel_type"] == "im"
    assert (event["user"], event["text"], event["thread_ts"]) == ("U1", "hi there", parent["ts"])
    assert event["event_ts"] == event["ts"] and event["team"] == "T0TURNOUT"
    assert fake.post_as_user("C1", "U1", "x")["channel_type"] == "channel"
    changed = fake.edit_as_user("D1", event["ts"], "hi again")
    assert changed["subtype"] == "message_changed"
    assert changed["message"]["text"] == "hi again"
    assert changed["previous_message"]["text"] == "hi there"
    assert changed["message"]["ts"] == event["ts"]
    deleted = fake.delete_as_user("D1", event["ts"])
    assert deleted["subtype"] == "message_deleted" and deleted["deleted_ts"] == event["ts"]
    assert [m["text"] for m in fake.messages("D1")] == ["card"]
    with pytest.raises(ValueError):
        fake.post_as_user("D1", "U1", "x", thread_ts="1.000001")


def test_live_tokens_and_rendering() -> None:
    raw = "hey <!channel> see <https://evil.example|bank.example> <@U1> &lt;!here&gt;"
    assert live_tokens(raw) == ["<!channel>", "<https://evil.example|bank.example>", "<@U1>"]
    assert live_tokens("&lt;!channel&gt; &amp; &lt;@U1&gt;") == []
    fake = FakeSlack(signing_secret=SECRET)
    fake.add_user("U1", "Alice")
    assert fake.rendered_text({"text": raw}) == "hey @channel see bank.example @Alice <!here>"
    assert fake.rendered_text({"text": "a &amp;lt; b"}) == "a &lt; b"

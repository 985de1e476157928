"""Message events in the app's DMs: thread replies become texts.

Bolt runs with process_before_response, so the reply is committed before
Slack gets its acknowledgement; a retry of the same event is recognised by
its event_id and by the message's own ts.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.bridge import outbound, support
from bot.roster import uploads
from bot.runtime import Runtime
from bot.scripts import canned

IGNORED_SUBTYPES = frozenset({"bot_message", "channel_join", "channel_leave", "thread_broadcast"})


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("channel_type") in ("channel", "group"):
            await _in_channel(rt, event, body.get("event_id"))
            return
        if event.get("channel_type") != "im":
            return
        if _is_upload(event):
            await uploads.receive_upload(
                rt,
                user=event["user"],
                channel=event["channel"],
                files=event["files"],
                text=event.get("text") or "",
                event_id=body.get("event_id"),
            )
            return
        event_id = body.get("event_id")
        subtype = event.get("subtype")
        if subtype in ("message_changed", "message_deleted"):
            await _edited(rt, event, event_id, deleted=subtype == "message_deleted")
            return
        if event.get("bot_id") or subtype in IGNORED_SUBTYPES or "user" not in event:
            return
        if not event.get("thread_ts") or event.get("thread_ts") == event.get("ts"):
            return
        await canned.thread_reply(
            rt,
            outbound.SlackMessage(
                event_id=event_id,
                channel=event["channel"],
                thread_ts=event["thread_ts"],
                ts=event["ts"],
                user=event["user"],
                text=event.get("text") or "",
            ),
        )


def _is_upload(event: dict[str, Any]) -> bool:
    """A person sharing files in the DM itself; a file in a member's thread is a reply."""
    return (
        event.get("subtype") == "file_share"
        and bool(event.get("files"))
        and not event.get("bot_id")
        and "user" in event
        and event.get("thread_ts") in (None, event.get("ts"))
    )


async def _in_channel(rt: Runtime, event: dict[str, Any], event_id: str | None) -> None:
    """A reply in a thread of the support channel: maybe an answer to a help card."""
    if event.get("subtype") or event.get("bot_id") or "user" not in event:
        return
    if not event.get("thread_ts") or event.get("thread_ts") == event.get("ts"):
        return
    await support.relay_answer(
        rt,
        outbound.SlackMessage(
            event_id=event_id,
            channel=event["channel"],
            thread_ts=event["thread_ts"],
            ts=event["ts"],
            user=event["user"],
            text=event.get("text") or "",
        ),
    )


async def _edited(
    rt: Runtime, event: dict[str, Any], event_id: str | None, *, deleted: bool
) -> None:
    original = event.get("previous_message") if deleted else event.get("message")
    if not original or original.get("bot_id") or "user" not in original:
        return
    if not deleted:
        before = (event.get("previous_message") or {}).get("text")
        if before == original.get("text"):
            return  # an unfurl or a reaction, not a change of words
    thread_ts = original.get("thread_ts")
    if not thread_ts:
        return
    await outbound.note_edit_or_delete(
        rt,
        outbound.SlackMessage(
            event_id=event_id,
            channel=event["channel"],
            thread_ts=thread_ts,
            ts=original["ts"],
            user=original["user"],
            text=original.get("text") or "",
        ),
        deleted=deleted,
    )

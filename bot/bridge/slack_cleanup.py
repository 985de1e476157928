"""Deleting what the app posted in Slack, for a purged campaign (Kind.DELETE_MESSAGE).

Every message the app posts carries its metadata (`slack_outbox.post_once`),
which is how its own replies in a thread are told apart from the
activists': a bot token may delete only the bot's messages, so what people
typed themselves stays until they (or a workspace admin) delete it.

Safe to run again after a crash or a 429: what is already gone counts as done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.bridge.slack_outbox import METADATA_TYPE, GaveUp

if TYPE_CHECKING:
    from bot.bridge.slack_outbox import SlackOutbox

GONE = ("message_not_found", "thread_not_found", "channel_not_found")


async def delete_posts(worker: SlackOutbox, payload: dict[str, Any]) -> None:
    """Delete message `ts` in `channel`; with `thread`, first the app's replies under it."""
    channel, ts = str(payload["channel"]), str(payload["ts"])
    if not payload.get("thread"):
        await _delete(worker, channel, ts)
        return
    ours = await _own_posts_in_thread(worker, channel, ts)
    if ours is None:
        return  # the thread is gone already
    for reply in [t for t in ours if t != ts]:
        await _delete(worker, channel, reply)
    if ts in ours:
        await _delete(worker, channel, ts)


async def _own_posts_in_thread(worker: SlackOutbox, channel: str, ts: str) -> list[str] | None:
    """The ts of every message in the thread (parent included) that the app posted."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {
            "channel": channel,
            "ts": ts,
            "include_all_metadata": True,
            "limit": 200,
        }
        if cursor:
            params["cursor"] = cursor
        try:
            response = await worker.call("conversations.replies", **params)
        except GaveUp as refused:
            if _gone(refused):
                return None
            raise
        for message in response.get("messages") or []:
            posted = message.get("ts")
            tagged = (message.get("metadata") or {}).get("event_type") == METADATA_TYPE
            if tagged and isinstance(posted, str) and posted not in found:
                found.append(posted)
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not (response.get("has_more") and cursor):
            return found


async def _delete(worker: SlackOutbox, channel: str, ts: str) -> None:
    try:
        await worker.call("chat.delete", channel=channel, ts=ts)
    except GaveUp as refused:
        if not _gone(refused):
            raise


def _gone(refused: GaveUp) -> bool:
    return any(error in str(refused) for error in GONE)

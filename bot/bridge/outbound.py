"""What activists write: thread replies become queued SMS.

The reply is committed (with the Slack event id and the message's own
timestamp as idempotency keys) before Bolt acknowledges the event, so a
Slack retry, a second worker or a restart can never turn one Slack message
into two texts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import text
from bot.intents import Kind
from bot.runtime import Runtime
from storage import conversations, events, messages, optouts, outbox, users
from storage.models import Conversation, Message

log = logging.getLogger(__name__)

OPTED_OUT = "the member has opted out (texted STOP), so nothing was sent"


@dataclass(frozen=True)
class SlackMessage:
    """A human's message in a Slack thread, as the Events API described it."""

    event_id: str | None
    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str


async def accept_thread_reply(rt: Runtime, msg: SlackMessage) -> Message | None:
    """Queue the SMS for an owner's thread reply; return it, or None if nothing is sent."""
    names = await _names_for(rt, msg.text)
    body = text.slack_to_plain(msg.text, names)
    now = rt.now()
    async with rt.db.transaction() as session:
        if msg.event_id and not await events.first_sight(session, msg.event_id, now):
            return None
        found = await conversations.by_thread(session, msg.channel, msg.thread_ts)
        if found is None:
            return None  # a thread that is not a member conversation
        conversation, thread = found
        if thread.kind != "dm":
            return None  # coordinators talking under a Claim card: not for the member
        key = f"slack:{msg.channel}:{msg.ts}"
        if await messages.by_key(session, key) is not None:
            return None
        refusal = _refusal(conversation, msg)
        if refusal is None and not body:
            refusal = "only text can be sent by SMS, so nothing was sent"
        if refusal is not None:
            await _ephemeral(session, rt, msg, refusal)
            return None
        sms = await queue_sms(
            session,
            rt,
            conversation,
            kind="reply",
            body=body,
            author_id=msg.user,
            key=key,
            slack_channel=msg.channel,
            slack_ts=msg.ts,
        )
        if sms.status == "blocked":
            await _ephemeral(session, rt, msg, f"Not sent: {OPTED_OUT}.")
    rt.wake()
    return sms


async def queue_sms(
    session: AsyncSession,
    rt: Runtime,
    conversation: Conversation,
    *,
    kind: str,
    body: str,
    author_id: str | None,
    key: str,
    slack_channel: str | None = None,
    slack_ts: str | None = None,
) -> Message:
    """Add one text to the SMS outbox (or record it as blocked if opted out)."""
    now = rt.now()
    blocked = await optouts.is_opted_out(session, conversation.phone)
    sms = await messages.add(
        session,
        Message(
            conversation_id=conversation.id,
            direction="out",
            kind=kind,
            body=body,
            author_id=author_id,
            status="blocked" if blocked else "pending",
            status_reason=OPTED_OUT if blocked else None,
            idempotency_key=key,
            slack_channel=slack_channel,
            slack_ts=slack_ts,
            created_at=now,
            updated_at=now,
        ),
    )
    await outbox.enqueue(
        session, Kind.SMS_STATE, now=now, conversation_id=conversation.id, message_id=sms.id
    )
    return sms


async def note_edit_or_delete(rt: Runtime, msg: SlackMessage, *, deleted: bool) -> None:
    """Tell the activist an edit or deletion did not reach the member's phone."""
    now = rt.now()
    async with rt.db.transaction() as session:
        if msg.event_id and not await events.first_sight(session, msg.event_id, now):
            return
        sms = await messages.by_slack_ts(session, msg.channel, msg.ts)
        if sms is None or sms.direction != "out":
            return
        if deleted:
            note = "Deleting a message here does not unsend it: the member already has the text."
        else:
            note = (
                "Edits do not reach the member: their phone has your original text. "
                "Send a new reply to correct it."
            )
        await _ephemeral(session, rt, msg, note)
    rt.wake()


def _refusal(conversation: Conversation, msg: SlackMessage) -> str | None:
    if conversation.owner_id is None:
        return "this conversation is no longer assigned to you, so nothing was sent"
    if conversation.owner_id != msg.user:
        return (
            f"only <@{conversation.owner_id}> can text this member from their thread, "
            "so nothing was sent"
        )
    if conversation.dm_channel != msg.channel or conversation.thread_ts != msg.thread_ts:
        return "this conversation has moved to a newer thread, so nothing was sent"
    return None


async def _ephemeral(session: AsyncSession, rt: Runtime, msg: SlackMessage, note: str) -> None:
    await outbox.enqueue(
        session,
        Kind.EPHEMERAL,
        now=rt.now(),
        payload={
            "channel": msg.channel,
            "user": msg.user,
            "thread_ts": msg.thread_ts,
            "text": note[0].upper() + note[1:],
        },
    )


async def _names_for(rt: Runtime, slack_text: str) -> dict[str, str]:
    """Display names of the users mentioned, from the cache or users.info."""
    names: dict[str, str] = {}
    ids = text.user_ids_in(slack_text)
    if not ids:
        return names
    async with rt.db.sessions() as session:
        for user_id in ids:
            known = await users.get(session, user_id)
            if known is not None and known.name:
                names[user_id] = known.name
    for user_id in ids - names.keys():
        try:
            info = await rt.slack.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info failed for a mention: %s", exc.response.get("error"))
            continue
        user = info.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name")
        if name:
            names[user_id] = name
    return names

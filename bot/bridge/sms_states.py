"""An outbound SMS's state on Slack: the texts Turnout posted, reactions, failures."""

from __future__ import annotations

from bot.bridge import blocks
from bot.bridge.slack_outbox import Deliveries, GaveUp, SlackOutbox
from bot.bridge.threads import ensure_thread, load_conversation
from bot.intents import Kind
from bot.phones import mask
from storage import messages, outbox
from storage.models import Conversation, Message, SlackDelivery

# What an outbound SMS's state looks like on the activist's own Slack message.
REACTIONS = {
    "pending": "hourglass_flowing_sand",
    "submitting": "hourglass_flowing_sand",
    "unknown": "hourglass_flowing_sand",
    "accepted": "hourglass_flowing_sand",
    "queued": "hourglass_flowing_sand",
    "scheduled": "hourglass_flowing_sand",
    "sending": "outbox_tray",
    "sent": "outbox_tray",
    "delivered": "white_check_mark",
    "read": "white_check_mark",
    "failed": "x",
    "undelivered": "x",
    "blocked": "no_entry_sign",
}
WORDS = {
    "hourglass_flowing_sand": "queued",
    "outbox_tray": "sent",
    "white_check_mark": "delivered",
    "x": "failed",
    "no_entry_sign": "not sent",
}


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.SMS_STATE, sms_state)
    deliveries.add(Kind.POST_SENT, post_sent)


async def sms_state(out: SlackOutbox, delivery: SlackDelivery) -> None:
    conversation, message = await load_conversation(out, delivery)
    assert message is not None
    if not (message.slack_channel and message.slack_ts):
        return  # not shown in Slack (yet)
    wanted = REACTIONS.get(message.status, "hourglass_flowing_sand")
    if message.kind != "reply":
        # Turnout posted this text itself, so it can show the state in words.
        text, body = blocks.sent_text(message.body, WORDS[wanted], message.status_reason)
        await out.call(
            "chat.update",
            channel=message.slack_channel,
            ts=message.slack_ts,
            text=text,
            blocks=body,
        )
        return
    if message.slack_reaction != wanted:
        await _react(out, message.slack_channel, message.slack_ts, wanted)
        if message.slack_reaction:
            await _unreact(out, message.slack_channel, message.slack_ts, message.slack_reaction)
        async with out.rt.db.transaction() as session:
            row = await messages.get(session, message.id)
            assert row is not None
            row.slack_reaction = wanted
    if wanted in ("x", "no_entry_sign"):
        await _failure_note(out, delivery, conversation, message, wanted)


async def _failure_note(
    out: SlackOutbox,
    delivery: SlackDelivery,
    conversation: Conversation,
    message: Message,
    reaction: str,
) -> None:
    """Say in the thread, in words, why a text did not reach the member."""
    if reaction == "no_entry_sign" and message.author_id and message.kind == "reply":
        return  # the author was already told, ephemerally, at the moment they wrote it
    channel, thread_ts = message.slack_channel, conversation.thread_ts
    if not channel or not thread_ts:
        return
    reason = message.status_reason or "Twilio gave no reason"
    verb = "Not delivered" if reaction == "x" else "Not sent"
    await out.post_once(
        delivery,
        f"failure:{message.id}",
        channel=channel,
        thread_ts=thread_ts,
        text=f":x: {verb} to {mask(conversation.phone)}: {reason}",
    )


async def _react(out: SlackOutbox, channel: str, ts: str, name: str) -> None:
    try:
        await out.call("reactions.add", channel=channel, timestamp=ts, name=name)
    except GaveUp as refused:
        if "already_reacted" not in str(refused):
            raise


async def _unreact(out: SlackOutbox, channel: str, ts: str, name: str) -> None:
    try:
        await out.call("reactions.remove", channel=channel, timestamp=ts, name=name)
    except GaveUp as refused:
        if "no_reaction" not in str(refused):
            raise


async def post_sent(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """Show a text Turnout sent (the initial script) as a reply in the thread."""
    conversation, message = await load_conversation(out, delivery)
    assert message is not None
    if conversation.owner_id is None:
        return
    thread_ts = await ensure_thread(out, delivery, conversation)
    assert conversation.dm_channel is not None
    wanted = REACTIONS.get(message.status, "hourglass_flowing_sand")
    text, body = blocks.sent_text(message.body, WORDS[wanted], message.status_reason)
    ts = await out.post_once(
        delivery,
        f"sent:{message.id}",
        channel=conversation.dm_channel,
        text=text,
        blocks=body,
        thread_ts=thread_ts,
    )
    async with out.rt.db.transaction() as session:
        row = await messages.get(session, message.id)
        assert row is not None
        row.slack_channel, row.slack_ts = conversation.dm_channel, ts
        # The state may have moved on while this was posted.
        await outbox.enqueue(
            session,
            Kind.SMS_STATE,
            now=out.rt.now(),
            conversation_id=conversation.id,
            message_id=message.id,
        )

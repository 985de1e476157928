"""Plain notes: into a conversation's thread, ephemeral, alerts, DMs, deletions."""

from __future__ import annotations

import logging

from bot.bridge.slack_cleanup import delete_posts
from bot.bridge.slack_outbox import Deliveries, GaveUp, SlackOutbox
from bot.bridge.threads import ensure_thread, load_conversation
from bot.intents import Kind
from storage.models import SlackDelivery

log = logging.getLogger(__name__)


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.NOTE, note)
    deliveries.add(Kind.EPHEMERAL, ephemeral)
    deliveries.add(Kind.ALERT, alert)
    deliveries.add(Kind.DM, dm)
    deliveries.add(Kind.DELETE_MESSAGE, delete_message)


async def note(out: SlackOutbox, delivery: SlackDelivery) -> None:
    conversation, _ = await load_conversation(out, delivery)
    text = str(delivery.payload.get("text", ""))
    key = f"note:{delivery.id}"
    channel, thread = delivery.payload.get("channel"), delivery.payload.get("thread_ts")
    if isinstance(channel, str) and isinstance(thread, str):
        await out.post_once(delivery, key, channel=channel, text=text, thread_ts=thread)
    elif conversation.owner_id is not None:
        thread_ts = await ensure_thread(out, delivery, conversation)
        assert conversation.dm_channel is not None
        await out.post_once(
            delivery, key, channel=conversation.dm_channel, text=text, thread_ts=thread_ts
        )
    elif conversation.claim_channel and conversation.claim_ts:
        await out.post_once(
            delivery,
            key,
            channel=conversation.claim_channel,
            text=text,
            thread_ts=conversation.claim_ts,
        )


async def ephemeral(out: SlackOutbox, delivery: SlackDelivery) -> None:
    params = {k: v for k, v in delivery.payload.items() if v is not None}
    try:
        await out.call("chat.postEphemeral", **params)
    except GaveUp as refused:
        # The user may have left the channel; an ephemeral note is not worth an alert.
        log.info("ephemeral note not shown: %s", refused)


async def alert(out: SlackOutbox, delivery: SlackDelivery) -> None:
    support = out.rt.settings.support_channel_id
    if not support:
        log.error("alert with no support channel: %s", delivery.payload.get("text"))
        return
    await out.post_once(
        delivery,
        f"alert:{delivery.id}",
        channel=support,
        text=str(delivery.payload.get("text", "")),
    )


async def dm(out: SlackOutbox, delivery: SlackDelivery) -> None:
    user = str(delivery.payload["user"])
    channel = await out.dm_channel(user)
    payload = delivery.payload
    await out.post_once(
        delivery,
        f"dm:{delivery.id}",
        channel=channel,
        text=str(payload.get("text", "")),
        blocks=payload.get("blocks"),
    )


async def delete_message(out: SlackOutbox, delivery: SlackDelivery) -> None:
    await delete_posts(out, delivery.payload)

"""Nudges to owners and escalation cards in the support channel (Slack outbox jobs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.blocks import member_label
from bot.text import escape_for_slack
from storage import conversations, messages
from storage.models import SlackDelivery

if TYPE_CHECKING:
    from bot.slack_delivery import Deliverer

ESCALATION_CLAIM = "escalation_claim"
ESCALATION_REASSIGN = "escalation_reassign"


async def _link(deliverer: Deliverer, channel: str | None, ts: str | None) -> str:
    if not channel or not ts:
        return ""
    response = await deliverer.worker.call("chat.getPermalink", channel=channel, message_ts=ts)
    link = response.get("permalink")
    return f"<{link}|open the thread>" if isinstance(link, str) else ""


async def nudge(deliverer: Deliverer, delivery: SlackDelivery) -> None:
    conversation, _ = await deliverer._load(delivery)
    user = str(delivery.payload["user"])
    if conversation.owner_id != user:
        return  # it moved on since the sweep
    async with deliverer.rt.db.sessions() as session:
        member = await conversations.member_of(session, conversation)
    name = escape_for_slack(member_label(member, conversation.phone))
    link = await _link(deliverer, conversation.dm_channel, conversation.thread_ts)
    minutes = int(delivery.payload.get("minutes", 0))
    text = f":bell: {name} replied {minutes} minutes ago and is waiting for an answer. {link}"
    channel = await deliverer.dm_channel(user)
    await deliverer.worker.post_once(delivery, f"nudge:{delivery.id}", channel=channel, text=text)


async def escalation(deliverer: Deliverer, delivery: SlackDelivery) -> None:
    conversation, _ = await deliverer._load(delivery)
    support = deliverer.rt.settings.support_channel_id
    if not support:
        return
    async with deliverer.rt.db.sessions() as session:
        member = await conversations.member_of(session, conversation)
        history = await messages.history(session, conversation.id)
    last = next((m.body for m in reversed(history) if m.direction == "in"), "")
    name = escape_for_slack(member_label(member, conversation.phone))
    link = await _link(deliverer, conversation.dm_channel, conversation.thread_ts)
    minutes = int(delivery.payload.get("minutes", 0))
    owner = conversation.owner_id
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f":rotating_light: *{name}* has waited {minutes // 60} h "
                    f"{minutes % 60} min for <@{owner}> to answer. {link}"
                ),
            },
        },
        {"type": "section", "text": {"type": "plain_text", "text": last or " ", "emoji": False}},
        {
            "type": "actions",
            "block_id": f"escalation_{conversation.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ESCALATION_CLAIM,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Claim"},
                    "value": str(conversation.id),
                },
                {
                    "type": "users_select",
                    "action_id": ESCALATION_REASSIGN,
                    "placeholder": {"type": "plain_text", "text": "Reassign to…"},
                },
            ],
        },
    ]
    await deliverer.worker.post_once(
        delivery,
        f"escalation:{delivery.id}",
        channel=support,
        text=f"{name} has waited {minutes} minutes for an answer",
        blocks=blocks,
    )

"""Nudges to owners and escalation cards in the support channel (Slack outbox jobs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.bridge.blocks import member_label
from bot.bridge.slack_outbox import Deliveries
from bot.bridge.threads import load_conversation
from bot.intents import Kind
from bot.text import PRACTICE_MARK, escape_for_slack
from storage import conversations, messages
from storage.models import Campaign, Conversation, ConversationThread, Member, SlackDelivery

if TYPE_CHECKING:
    from bot.bridge.slack_outbox import SlackOutbox

ESCALATION_CLAIM = "escalation_claim"
ESCALATION_REASSIGN = "escalation_reassign"


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.NUDGE, nudge)
    deliveries.add(Kind.ESCALATION, escalation)
    deliveries.add(Kind.HELP, help_card)
    deliveries.add(Kind.SUPPORT_NOTE, support_note)


async def _link(out: SlackOutbox, channel: str | None, ts: str | None) -> str:
    if not channel or not ts:
        return ""
    response = await out.call("chat.getPermalink", channel=channel, message_ts=ts)
    link = response.get("permalink")
    return f"<{link}|open the thread>" if isinstance(link, str) else ""


@dataclass(frozen=True)
class _About:
    """What every post about a conversation needs: the member's name and a thread link."""

    conversation: Conversation
    member: Member | None
    name: str
    link: str


async def _about(out: SlackOutbox, delivery: SlackDelivery) -> _About:
    conversation, _ = await load_conversation(out, delivery)
    async with out.rt.db.sessions() as session:
        member = await conversations.member_of(session, conversation)
        campaign = await session.get(Campaign, conversation.campaign_id or 0)
    name = escape_for_slack(member_label(member, conversation.phone))
    if campaign is not None and campaign.practice:
        name = f"{PRACTICE_MARK} · {name}"
    link = await _link(out, conversation.dm_channel, conversation.thread_ts)
    return _About(conversation, member, name, link)


async def nudge(out: SlackOutbox, delivery: SlackDelivery) -> None:
    about = await _about(out, delivery)
    conversation, name, link = about.conversation, about.name, about.link
    user = str(delivery.payload["user"])
    if conversation.owner_id != user:
        return  # it moved on since the sweep
    minutes = int(delivery.payload.get("minutes", 0))
    text = f":bell: {name} replied {minutes} minutes ago and is waiting for an answer. {link}"
    channel = await out.dm_channel(user)
    ts = await out.post_once(delivery, f"nudge:{delivery.id}", channel=channel, text=text)
    await _remember(out, conversation.id, channel, ts)


async def escalation(out: SlackOutbox, delivery: SlackDelivery) -> None:
    support = out.rt.settings.support_channel_id
    if not support:
        return
    about = await _about(out, delivery)
    conversation, name, link = about.conversation, about.name, about.link
    async with out.rt.db.sessions() as session:
        history = await messages.history(session, conversation.id)
    last = next((m.body for m in reversed(history) if m.direction == "in"), "")
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
        _move_buttons(conversation.id),
    ]
    ts = await out.post_once(
        delivery,
        f"escalation:{delivery.id}",
        channel=support,
        text=f"{name} has waited {minutes} minutes for an answer",
        blocks=blocks,
    )
    # Coordinators may answer under the card; that reaches the activist, as for help.
    await _remember(out, conversation.id, support, ts, kind="help", user=owner)


async def help_card(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """An activist's question: a card whose thread coordinators answer in."""
    support = out.rt.settings.support_channel_id
    if not support:
        return
    about = await _about(out, delivery)
    conversation, member, name, link = about.conversation, about.member, about.name, about.link
    branch = f" ({escape_for_slack(member.branch)})" if member and member.branch else ""
    asker = str(delivery.payload.get("user"))
    question = str(delivery.payload.get("question", ""))
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    f":sos: <@{asker}> asks for help with *{name}*{branch}. {link}\n"
                    "Answer in this card's thread and the answer reaches them."
                ),
            },
        },
        {
            "type": "section",
            "text": {"type": "plain_text", "text": question or " ", "emoji": False},
        },
        _move_buttons(conversation.id),
    ]
    ts = await out.post_once(
        delivery,
        f"help:{delivery.id}",
        channel=support,
        text=f"{asker} asks for help with {name}",
        blocks=blocks,
    )
    await _remember(out, conversation.id, support, ts, kind="help", user=asker)


async def support_note(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """A failure for good or an opt-out, where coordinators will see it."""
    support = out.rt.settings.support_channel_id
    if not support:
        return
    about = await _about(out, delivery)
    conversation, name, link = about.conversation, about.name, about.link
    owner = f" (<@{conversation.owner_id}>)" if conversation.owner_id else ""
    what = escape_for_slack(str(delivery.payload.get("text", "")))
    icon = delivery.payload.get("icon", ":information_source:")
    ts = await out.post_once(
        delivery,
        f"support:{delivery.id}",
        channel=support,
        text=f"{icon} *{name}*{owner}: {what} {link}",
    )
    await _remember(out, conversation.id, support, ts)


def _move_buttons(conversation_id: int) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"escalation_{conversation_id}",
        "elements": [
            {
                "type": "button",
                "action_id": ESCALATION_CLAIM,
                "style": "primary",
                "text": {"type": "plain_text", "text": "Claim"},
                "value": str(conversation_id),
            },
            {
                "type": "users_select",
                "action_id": ESCALATION_REASSIGN,
                "placeholder": {"type": "plain_text", "text": "Reassign to…"},
            },
        ],
    }


async def _remember(
    out: SlackOutbox,
    conversation_id: int,
    channel: str,
    ts: str,
    *,
    kind: str = "notice",
    user: str | None = None,
) -> None:
    """Keep every post that names a member, so a purge can find and delete it."""
    async with out.rt.db.transaction() as session:
        if await conversations.by_thread(session, channel, ts) is not None:
            return  # a retried delivery that found its earlier post
        session.add(
            ConversationThread(
                conversation_id=conversation_id,
                channel=channel,
                thread_ts=ts,
                kind=kind,
                user_id=user,
                created_at=out.rt.now(),
            )
        )

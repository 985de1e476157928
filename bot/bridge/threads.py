"""The member's thread in the owner's DM, and the deliveries that keep it.

Rendered from the state at delivery time, so a card always shows the latest
truth (claimed, opted out), and a delivery that runs twice does no harm:
every step either checks what was already done or is idempotent at Slack.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge import blocks
from bot.bridge.slack_outbox import Deliveries, GaveUp, Held, SlackOutbox
from bot.campaigns import gate
from bot.campaigns.campaign_file import CampaignFileError, CampaignSpec
from bot.campaigns.lifecycle import spec_of
from bot.intents import Kind
from bot.scripts.suggestions import suggest
from storage import conversations, messages, optouts, outbox, users
from storage.models import Campaign, Conversation, Member, Message, SlackDelivery

log = logging.getLogger(__name__)


def register(deliveries: Deliveries) -> None:
    deliveries.add(Kind.INBOUND, inbound, on_refusal=alert_unshown)
    deliveries.add(Kind.OPEN_THREAD, open_thread, on_refusal=alert_unshown)
    deliveries.add(Kind.CLAIMED, claimed)
    deliveries.add(Kind.CARD, card)


async def ensure_thread(
    out: SlackOutbox, delivery: SlackDelivery, conversation: Conversation
) -> str:
    """The thread in the owner's DM, posting the member card if there is none."""
    owner = conversation.owner_id
    assert owner is not None
    if conversation.thread_owner_id == owner and conversation.thread_ts:
        return conversation.thread_ts
    async with out.rt.db.sessions() as session:
        if not await gate.may_see(session, owner, conversation.campaign_id):
            raise Held(f"{owner} has not agreed to the data-protection terms")
        member = await conversations.member_of(session, conversation)
        opted_out = await optouts.is_opted_out(session, conversation.phone)
    channel = await out.dm_channel(owner)
    campaign = await campaign_of(out, conversation)
    text, card = blocks.member_card(
        conversation,
        member,
        opted_out=opted_out,
        spec=_spec(campaign),
        practice=bool(campaign and campaign.practice),
    )
    ts = await out.post_once(
        delivery, f"card:{conversation.id}:{owner}", channel=channel, text=text, blocks=card
    )
    async with out.rt.db.transaction() as session:
        row = await conversations.get(session, conversation.id)
        assert row is not None
        await conversations.add_thread(
            session,
            row,
            channel=channel,
            thread_ts=ts,
            kind="dm",
            user_id=owner,
            now=out.rt.now(),
        )
    conversation.dm_channel, conversation.thread_ts = channel, ts
    conversation.thread_owner_id = owner
    return ts


async def campaign_of(out: SlackOutbox, conversation: Conversation) -> Campaign | None:
    if conversation.campaign_id is None:
        return None
    async with out.rt.db.sessions() as session:
        return await session.get(Campaign, conversation.campaign_id)


def _spec(campaign: Campaign | None) -> CampaignSpec | None:
    """The campaign's settings, for the card's outcomes and scripts (None if unreadable)."""
    if campaign is None:
        return None
    try:
        return spec_of(campaign)
    except CampaignFileError:
        log.warning(
            "campaign %s has unreadable settings; card shown without buttons", campaign.slug
        )
        return None


async def load_conversation(
    out: SlackOutbox, delivery: SlackDelivery
) -> tuple[Conversation, Message | None]:
    async with out.rt.db.sessions() as session:
        assert delivery.conversation_id is not None
        conversation = await conversations.get(session, delivery.conversation_id)
        message = await messages.get(session, delivery.message_id) if delivery.message_id else None
    if conversation is None:
        raise GaveUp("the conversation no longer exists")
    return conversation, message


async def inbound(out: SlackOutbox, delivery: SlackDelivery) -> None:
    assert delivery.conversation_id is not None and delivery.message_id is not None
    # Everything the post needs, in one read.
    async with out.rt.db.sessions() as session:
        found = await conversations.to_show(session, delivery.conversation_id, delivery.message_id)
    if found is None:
        raise GaveUp("the conversation no longer exists")
    conversation, message, member = found.conversation, found.message, found.member
    campaign, opted_out = found.campaign, found.opted_out
    key = f"inbound:{message.id}"
    suggestion = None
    if conversation.owner_id is not None:
        thread_ts = await ensure_thread(out, delivery, conversation)
        spec = _spec(campaign)
        # What the member's words look like, for its owner; nothing for an opted-out number.
        suggestion = suggest(message.body, spec) if spec is not None and not opted_out else None
        text, body = blocks.inbound_text(
            conversation.owner_id,
            member,
            conversation.phone,
            message.body,
            (message.id, suggestion) if suggestion else None,
            practice=bool(campaign and campaign.practice),
        )
        channel = conversation.dm_channel
        assert channel is not None
        ts = await out.post_once(
            delivery, key, channel=channel, text=text, blocks=body, thread_ts=thread_ts
        )
    else:
        channel, ts = await _to_support(out, delivery, conversation, member, message, key)
    outcome = suggestion.outcome if suggestion else None

    async def shown(session: AsyncSession) -> None:
        await messages.set_shown(session, message.id, channel=channel, ts=ts, suggestion=outcome)

    out.when_done(delivery, shown)


async def _to_support(
    out: SlackOutbox,
    delivery: SlackDelivery,
    conversation: Conversation,
    member: Member | None,
    message: Message,
    key: str,
) -> tuple[str, str]:
    """An unowned reply: a Claim card, or a reply under the open Claim card."""
    support = out.rt.settings.support_channel_id
    if not support:
        raise GaveUp("SUPPORT_CHANNEL_ID is not set, so an unowned reply has nowhere to go")
    if conversation.claim_ts and conversation.claim_channel:
        text, body = blocks.inbound_text(None, member, conversation.phone, message.body)
        ts = await out.post_once(
            delivery,
            key,
            channel=conversation.claim_channel,
            text=text,
            blocks=body,
            thread_ts=conversation.claim_ts,
        )
        return conversation.claim_channel, ts
    text, card = blocks.claim_card(conversation, member, message.body)
    ts = await out.post_once(delivery, key, channel=support, text=text, blocks=card)
    async with out.rt.db.transaction() as session:
        row = await conversations.get(session, conversation.id)
        assert row is not None
        await conversations.add_thread(
            session,
            row,
            channel=support,
            thread_ts=ts,
            kind="claim",
            user_id=None,
            now=out.rt.now(),
        )
    return support, ts


async def open_thread(out: SlackOutbox, delivery: SlackDelivery) -> None:
    conversation, _ = await load_conversation(out, delivery)
    if conversation.owner_id is None:
        return
    thread_ts = await ensure_thread(out, delivery, conversation)
    async with out.rt.db.sessions() as session:
        member = await conversations.member_of(session, conversation)
        history = await messages.history(session, conversation.id)
        names = {}
        for m in history:
            if m.author_id and m.author_id not in names:
                user = await users.get(session, m.author_id)
                names[m.author_id] = user.name if user and user.name else "Activist"
    who = blocks.member_label(member, conversation.phone)
    lines = [
        (who if m.direction == "in" else names.get(m.author_id or "", "Turnout"), m.body)
        for m in history
    ]
    text, body = blocks.transcript(lines)
    assert conversation.dm_channel is not None
    await out.post_once(
        delivery,
        f"history:{delivery.id}",
        channel=conversation.dm_channel,
        text=text,
        blocks=body,
        thread_ts=thread_ts,
    )


async def claimed(out: SlackOutbox, delivery: SlackDelivery) -> None:
    conversation, _ = await load_conversation(out, delivery)
    if not (conversation.claim_channel and conversation.claim_ts):
        return
    async with out.rt.db.sessions() as session:
        member = await conversations.member_of(session, conversation)
    owner = str(delivery.payload.get("user") or conversation.owner_id)
    text, card = blocks.claimed_card(member, conversation.phone, owner)
    await out.call(
        "chat.update",
        channel=conversation.claim_channel,
        ts=conversation.claim_ts,
        text=text,
        blocks=card,
    )
    async with out.rt.db.transaction() as session:
        row = await conversations.get(session, conversation.id)
        assert row is not None
        # The next unowned period gets a fresh card rather than this old one.
        row.claim_channel = row.claim_ts = None


async def card(out: SlackOutbox, delivery: SlackDelivery) -> None:
    conversation, _ = await load_conversation(out, delivery)
    if not (conversation.dm_channel and conversation.thread_ts):
        return
    async with out.rt.db.sessions() as session:
        member = await conversations.member_of(session, conversation)
        opted_out = await optouts.is_opted_out(session, conversation.phone)
    campaign = await campaign_of(out, conversation)
    text, card = blocks.member_card(
        conversation,
        member,
        opted_out=opted_out,
        spec=_spec(campaign),
        practice=bool(campaign and campaign.practice),
    )
    await out.call(
        "chat.update",
        channel=conversation.dm_channel,
        ts=conversation.thread_ts,
        text=text,
        blocks=card,
    )


async def alert_unshown(out: SlackOutbox, delivery: SlackDelivery) -> None:
    """A member's text that could not reach its thread must still reach someone."""
    async with out.rt.db.transaction() as session:
        await outbox.enqueue(
            session,
            Kind.ALERT,
            now=out.rt.now(),
            payload={
                "text": f":warning: A member's conversation (#{delivery.conversation_id}) "
                f"could not be shown in Slack: {delivery.last_error}. "
                "Check the app's channel access."
            },
        )
    out.rt.wake()

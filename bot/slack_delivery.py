"""What each kind of Slack delivery does, rendered from the state at delivery time.

Rendering late means a card always shows the latest truth (claimed, opted
out), and a delivery that runs twice does no harm: every step either checks
what was already done or is idempotent at Slack (reactions).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import blocks, digest_post, exports, gate, home, slack_cleanup, support_posts, upload_jobs
from bot.campaign_file import CampaignFileError, CampaignSpec
from bot.campaigns import spec_of
from bot.intents import Kind
from bot.phones import mask
from bot.slack_outbox import GaveUp, Held
from storage import conversations, messages, optouts, outbox, users
from storage.models import Campaign, Conversation, Member, Message, SlackDelivery

if TYPE_CHECKING:
    from bot.slack_outbox import SlackOutbox

log = logging.getLogger(__name__)

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


class Deliverer:
    def __init__(self, worker: SlackOutbox) -> None:
        self.worker = worker
        self.rt = worker.rt
        self._kinds: dict[str, Callable[[SlackDelivery], Awaitable[None]]] = {
            Kind.INBOUND: self._inbound,
            Kind.SMS_STATE: self._sms_state,
            Kind.NOTE: self._note,
            Kind.EPHEMERAL: self._ephemeral,
            Kind.OPEN_THREAD: self._open_thread,
            Kind.CLAIMED: self._claimed,
            Kind.CARD: self._card,
            Kind.ALERT: self._alert,
            Kind.HOME: self._home,
            Kind.DM: self._dm,
            Kind.POST_SENT: self._post_sent,
            Kind.NUDGE: lambda d: support_posts.nudge(self, d),
            Kind.ESCALATION: lambda d: support_posts.escalation(self, d),
            Kind.HELP: lambda d: support_posts.help_card(self, d),
            Kind.SUPPORT_NOTE: lambda d: support_posts.support_note(self, d),
            Kind.IMPORT_PREVIEW: self._import_preview,
            Kind.IMPORT_RUN: self._import_run,
            Kind.EXPORT: self._export,
            Kind.DELETE_MESSAGE: self._delete_message,
            Kind.DIGEST: self._digest,
        }

    async def deliver(self, delivery: SlackDelivery) -> None:
        handler = self._kinds.get(delivery.kind)
        if handler is None:
            raise GaveUp(f"unknown delivery kind {delivery.kind!r}")
        await handler(delivery)

    async def gave_up(self, delivery: SlackDelivery, error: str) -> None:
        """A member's text that could not reach its thread must still reach someone."""
        if delivery.kind not in (Kind.INBOUND, Kind.OPEN_THREAD):
            return
        async with self.rt.db.transaction() as session:
            await outbox.enqueue(
                session,
                Kind.ALERT,
                now=self.rt.now(),
                payload={
                    "text": f":warning: A member's conversation (#{delivery.conversation_id}) "
                    f"could not be shown in Slack: {error}. Check the app's channel access."
                },
            )
        self.rt.wake()

    # -- the conversation thread -------------------------------------------------

    async def ensure_thread(self, delivery: SlackDelivery, conversation: Conversation) -> str:
        """The thread in the owner's DM, posting the member card if there is none."""
        owner = conversation.owner_id
        assert owner is not None
        if conversation.thread_owner_id == owner and conversation.thread_ts:
            return conversation.thread_ts
        async with self.rt.db.sessions() as session:
            if not await gate.may_see(session, owner, conversation.campaign_id):
                raise Held(f"{owner} has not agreed to the data-protection terms")
            member = await conversations.member_of(session, conversation)
            opted_out = await optouts.is_opted_out(session, conversation.phone)
        channel = await self.dm_channel(owner)
        text, card = blocks.member_card(
            conversation, member, opted_out=opted_out, spec=await self._spec(conversation)
        )
        ts = await self.worker.post_once(
            delivery, f"card:{conversation.id}:{owner}", channel=channel, text=text, blocks=card
        )
        async with self.rt.db.transaction() as session:
            row = await conversations.get(session, conversation.id)
            assert row is not None
            await conversations.add_thread(
                session,
                row,
                channel=channel,
                thread_ts=ts,
                kind="dm",
                user_id=owner,
                now=self.rt.now(),
            )
        conversation.dm_channel, conversation.thread_ts = channel, ts
        conversation.thread_owner_id = owner
        return ts

    async def _spec(self, conversation: Conversation) -> CampaignSpec | None:
        """The campaign's settings, for the card's outcomes and scripts (None if unreadable)."""
        if conversation.campaign_id is None:
            return None
        async with self.rt.db.sessions() as session:
            campaign = await session.get(Campaign, conversation.campaign_id)
        if campaign is None:
            return None
        try:
            return spec_of(campaign)
        except CampaignFileError:
            log.warning(
                "campaign %s has unreadable settings; card shown without buttons", campaign.slug
            )
            return None

    async def dm_channel(self, user_id: str) -> str:
        async with self.rt.db.sessions() as session:
            known = await users.get(session, user_id)
        if known is not None and known.dm_channel_id:
            return known.dm_channel_id
        response = await self.worker.call("conversations.open", users=user_id)
        channel = (response.get("channel") or {}).get("id")
        if not isinstance(channel, str):
            raise GaveUp("conversations.open gave no channel")
        async with self.rt.db.transaction() as session:
            await users.upsert(session, user_id, now=self.rt.now(), dm_channel_id=channel)
        return channel

    async def _load(self, delivery: SlackDelivery) -> tuple[Conversation, Message | None]:
        async with self.rt.db.sessions() as session:
            assert delivery.conversation_id is not None
            conversation = await conversations.get(session, delivery.conversation_id)
            message = (
                await messages.get(session, delivery.message_id) if delivery.message_id else None
            )
        if conversation is None:
            raise GaveUp("the conversation no longer exists")
        return conversation, message

    # -- the kinds ---------------------------------------------------------------

    async def _inbound(self, delivery: SlackDelivery) -> None:
        conversation, message = await self._load(delivery)
        assert message is not None
        async with self.rt.db.sessions() as session:
            member = await conversations.member_of(session, conversation)
        key = f"inbound:{message.id}"
        if conversation.owner_id is not None:
            thread_ts = await self.ensure_thread(delivery, conversation)
            text, body = blocks.inbound_text(
                conversation.owner_id, member, conversation.phone, message.body
            )
            channel = conversation.dm_channel
            assert channel is not None
            ts = await self.worker.post_once(
                delivery, key, channel=channel, text=text, blocks=body, thread_ts=thread_ts
            )
        else:
            channel, ts = await self._to_support(delivery, conversation, member, message, key)
        async with self.rt.db.transaction() as session:
            row = await messages.get(session, message.id)
            assert row is not None
            row.slack_channel, row.slack_ts = channel, ts

    async def _to_support(
        self,
        delivery: SlackDelivery,
        conversation: Conversation,
        member: Member | None,
        message: Message,
        key: str,
    ) -> tuple[str, str]:
        """An unowned reply: a Claim card, or a reply under the open Claim card."""
        support = self.rt.settings.support_channel_id
        if not support:
            raise GaveUp("SUPPORT_CHANNEL_ID is not set, so an unowned reply has nowhere to go")
        if conversation.claim_ts and conversation.claim_channel:
            text, body = blocks.inbound_text(None, member, conversation.phone, message.body)
            ts = await self.worker.post_once(
                delivery,
                key,
                channel=conversation.claim_channel,
                text=text,
                blocks=body,
                thread_ts=conversation.claim_ts,
            )
            return conversation.claim_channel, ts
        text, card = blocks.claim_card(conversation, member, message.body)
        ts = await self.worker.post_once(delivery, key, channel=support, text=text, blocks=card)
        async with self.rt.db.transaction() as session:
            row = await conversations.get(session, conversation.id)
            assert row is not None
            await conversations.add_thread(
                session,
                row,
                channel=support,
                thread_ts=ts,
                kind="claim",
                user_id=None,
                now=self.rt.now(),
            )
        return support, ts

    async def _sms_state(self, delivery: SlackDelivery) -> None:
        conversation, message = await self._load(delivery)
        assert message is not None
        if not (message.slack_channel and message.slack_ts):
            return  # not shown in Slack (yet)
        wanted = REACTIONS.get(message.status, "hourglass_flowing_sand")
        if message.kind != "reply":
            # Turnout posted this text itself, so it can show the state in words.
            text, body = blocks.sent_text(message.body, WORDS[wanted], message.status_reason)
            await self.worker.call(
                "chat.update",
                channel=message.slack_channel,
                ts=message.slack_ts,
                text=text,
                blocks=body,
            )
            return
        if message.slack_reaction != wanted:
            await self._react(message.slack_channel, message.slack_ts, wanted)
            if message.slack_reaction:
                await self._unreact(message.slack_channel, message.slack_ts, message.slack_reaction)
            async with self.rt.db.transaction() as session:
                row = await messages.get(session, message.id)
                assert row is not None
                row.slack_reaction = wanted
        if wanted in ("x", "no_entry_sign"):
            await self._failure_note(delivery, conversation, message, wanted)

    async def _failure_note(
        self, delivery: SlackDelivery, conversation: Conversation, message: Message, reaction: str
    ) -> None:
        """Say in the thread, in words, why a text did not reach the member."""
        if reaction == "no_entry_sign" and message.author_id and message.kind == "reply":
            return  # the author was already told, ephemerally, at the moment they wrote it
        channel, thread_ts = message.slack_channel, conversation.thread_ts
        if not channel or not thread_ts:
            return
        reason = message.status_reason or "Twilio gave no reason"
        verb = "Not delivered" if reaction == "x" else "Not sent"
        await self.worker.post_once(
            delivery,
            f"failure:{message.id}",
            channel=channel,
            thread_ts=thread_ts,
            text=f":x: {verb} to {mask(conversation.phone)}: {reason}",
        )

    async def _react(self, channel: str, ts: str, name: str) -> None:
        try:
            await self.worker.call("reactions.add", channel=channel, timestamp=ts, name=name)
        except GaveUp as refused:
            if "already_reacted" not in str(refused):
                raise

    async def _unreact(self, channel: str, ts: str, name: str) -> None:
        try:
            await self.worker.call("reactions.remove", channel=channel, timestamp=ts, name=name)
        except GaveUp as refused:
            if "no_reaction" not in str(refused):
                raise

    async def _note(self, delivery: SlackDelivery) -> None:
        conversation, _ = await self._load(delivery)
        text = str(delivery.payload.get("text", ""))
        key = f"note:{delivery.id}"
        channel, thread = delivery.payload.get("channel"), delivery.payload.get("thread_ts")
        if isinstance(channel, str) and isinstance(thread, str):
            await self.worker.post_once(delivery, key, channel=channel, text=text, thread_ts=thread)
        elif conversation.owner_id is not None:
            thread_ts = await self.ensure_thread(delivery, conversation)
            assert conversation.dm_channel is not None
            await self.worker.post_once(
                delivery, key, channel=conversation.dm_channel, text=text, thread_ts=thread_ts
            )
        elif conversation.claim_channel and conversation.claim_ts:
            await self.worker.post_once(
                delivery,
                key,
                channel=conversation.claim_channel,
                text=text,
                thread_ts=conversation.claim_ts,
            )

    async def _ephemeral(self, delivery: SlackDelivery) -> None:
        params = {k: v for k, v in delivery.payload.items() if v is not None}
        try:
            await self.worker.call("chat.postEphemeral", **params)
        except GaveUp as refused:
            # The user may have left the channel; an ephemeral note is not worth an alert.
            log.info("ephemeral note not shown: %s", refused)

    async def _open_thread(self, delivery: SlackDelivery) -> None:
        conversation, _ = await self._load(delivery)
        if conversation.owner_id is None:
            return
        thread_ts = await self.ensure_thread(delivery, conversation)
        async with self.rt.db.sessions() as session:
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
        await self.worker.post_once(
            delivery,
            f"history:{delivery.id}",
            channel=conversation.dm_channel,
            text=text,
            blocks=body,
            thread_ts=thread_ts,
        )

    async def _claimed(self, delivery: SlackDelivery) -> None:
        conversation, _ = await self._load(delivery)
        if not (conversation.claim_channel and conversation.claim_ts):
            return
        async with self.rt.db.sessions() as session:
            member = await conversations.member_of(session, conversation)
        owner = str(delivery.payload.get("user") or conversation.owner_id)
        text, card = blocks.claimed_card(member, conversation.phone, owner)
        await self.worker.call(
            "chat.update",
            channel=conversation.claim_channel,
            ts=conversation.claim_ts,
            text=text,
            blocks=card,
        )
        async with self.rt.db.transaction() as session:
            row = await conversations.get(session, conversation.id)
            assert row is not None
            # The next unowned period gets a fresh card rather than this old one.
            row.claim_channel = row.claim_ts = None

    async def _card(self, delivery: SlackDelivery) -> None:
        conversation, _ = await self._load(delivery)
        if not (conversation.dm_channel and conversation.thread_ts):
            return
        async with self.rt.db.sessions() as session:
            member = await conversations.member_of(session, conversation)
            opted_out = await optouts.is_opted_out(session, conversation.phone)
        text, card = blocks.member_card(
            conversation, member, opted_out=opted_out, spec=await self._spec(conversation)
        )
        await self.worker.call(
            "chat.update",
            channel=conversation.dm_channel,
            ts=conversation.thread_ts,
            text=text,
            blocks=card,
        )

    async def _alert(self, delivery: SlackDelivery) -> None:
        support = self.rt.settings.support_channel_id
        if not support:
            log.error("alert with no support channel: %s", delivery.payload.get("text"))
            return
        await self.worker.post_once(
            delivery,
            f"alert:{delivery.id}",
            channel=support,
            text=str(delivery.payload.get("text", "")),
        )

    async def _home(self, delivery: SlackDelivery) -> None:
        user = str(delivery.payload["user"])
        async with self.rt.db.sessions() as session:
            view = await home.render(session, self.rt, user)
        await self.worker.call("views.publish", user_id=user, view=view)

    async def _dm(self, delivery: SlackDelivery) -> None:
        user = str(delivery.payload["user"])
        channel = await self.dm_channel(user)
        payload = delivery.payload
        await self.worker.post_once(
            delivery,
            f"dm:{delivery.id}",
            channel=channel,
            text=str(payload.get("text", "")),
            blocks=payload.get("blocks"),
        )

    async def _post_sent(self, delivery: SlackDelivery) -> None:
        """Show a text Turnout sent (the initial script) as a reply in the thread."""
        conversation, message = await self._load(delivery)
        assert message is not None
        if conversation.owner_id is None:
            return
        thread_ts = await self.ensure_thread(delivery, conversation)
        assert conversation.dm_channel is not None
        wanted = REACTIONS.get(message.status, "hourglass_flowing_sand")
        text, body = blocks.sent_text(message.body, WORDS[wanted], message.status_reason)
        ts = await self.worker.post_once(
            delivery,
            f"sent:{message.id}",
            channel=conversation.dm_channel,
            text=text,
            blocks=body,
            thread_ts=thread_ts,
        )
        async with self.rt.db.transaction() as session:
            row = await messages.get(session, message.id)
            assert row is not None
            row.slack_channel, row.slack_ts = conversation.dm_channel, ts
            # The state may have moved on while this was posted.
            await outbox.enqueue(
                session,
                Kind.SMS_STATE,
                now=self.rt.now(),
                conversation_id=conversation.id,
                message_id=message.id,
            )

    # -- roster uploads (the work lives in bot.upload_jobs) ------------------------

    async def _import_preview(self, delivery: SlackDelivery) -> None:
        await upload_jobs.preview(self, delivery)

    async def _import_run(self, delivery: SlackDelivery) -> None:
        await upload_jobs.run_import(self, delivery)

    async def _export(self, delivery: SlackDelivery) -> None:
        await exports.run(self, delivery)

    async def _delete_message(self, delivery: SlackDelivery) -> None:
        await slack_cleanup.delete_posts(self.worker, delivery.payload)

    async def _digest(self, delivery: SlackDelivery) -> None:
        await digest_post.deliver(self, delivery)

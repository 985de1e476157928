"""The SMS outbox worker: pending texts to Twilio, exactly once.

Each text is taken with a conditional UPDATE (pending -> submitting) and
committed before the request leaves, so two workers can never both send it.
The checks that keep members safe are made here, at send time: opt-out and
conversation ownership (and, through `send_checks`, anything a campaign adds,
such as texting hours). A request whose answer never came is marked
"unknown" and looked up at Twilio before anything else happens to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge import consent, support
from bot.bridge.sms_gateway import SendResult, SmsFateUnknown, SmsRejected
from bot.intents import Kind
from bot.phones import is_simulated
from bot.runtime import Runtime
from bot.workers import Pacer, Slots, Worker
from storage import conversations, messages, optouts, outbox
from storage.models import Campaign, Conversation, Message

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Why a text may not leave now, and when to try again (None: never).
Refusal = tuple[str, datetime | None]
# A check that may refuse a text at send time.
SendCheck = Callable[[AsyncSession, Message, Conversation], Awaitable[Refusal | None]]


class SmsOutbox(Worker):
    name = "sms-outbox"

    def __init__(
        self,
        rt: Runtime,
        *,
        rate_per_second: float = 10.0,
        unknown_grace: timedelta = timedelta(seconds=20),
        lease: timedelta = timedelta(minutes=2),
        batch: int = 50,
        concurrency: int = 16,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__(rt.sms_wakeup, poll_interval=poll_interval)
        self.rt = rt
        # Twilio's per-sender rate, shared by every instance; practice texts
        # never reach Twilio, so they are not paced.
        self.pacer = Pacer(
            rt.db, rate_per_second, burst=max(1, int(rate_per_second)), prefix="sms:"
        )
        self.sender = rt.settings.twilio_messaging_service_sid or rt.settings.twilio_from_number
        self.unknown_grace = unknown_grace
        self.lease = lease
        self.batch = batch
        self.slots = Slots(concurrency)
        # Lost answers are looked for at most this often, not on every round.
        self.reconcile_every = min(1.0, unknown_grace.total_seconds())
        self._reconciled_at = float("-inf")
        self.send_checks: list[SendCheck] = []

    async def run_once(self) -> int:
        """Reconcile what is in doubt (at most every `reconcile_every` seconds), then
        start what is due in free slots; while all is in flight, wait for a change."""
        self.wakeup.clear()
        reconciled = 0
        clock = asyncio.get_running_loop().time()
        if clock - self._reconciled_at >= self.reconcile_every:
            self._reconciled_at = clock
            reconciled = await self.reconcile()
        free = self.slots.free
        if free > 0:
            in_flight = self.slots.keys()
            async with self.rt.db.sessions() as session:
                ids = await messages.due_outbound_ids(
                    session, self.rt.now(), min(self.batch, free + len(in_flight))
                )
            started = [i for i in ids if i not in in_flight][:free]
            for message_id in started:
                self.slots.start(message_id, self._send_one(message_id), ended=self.wakeup)
            if started or reconciled:
                return len(started) + reconciled
        if not self.slots.busy:
            return 0
        return await self.slots.wait(self.wakeup, self.poll_interval)

    async def run_round(self) -> int:
        """Reconcile, send what is due now, and wait until those sends end (tests)."""
        reconciled = await self.reconcile()
        async with self.rt.db.sessions() as session:
            ids = await messages.due_outbound_ids(session, self.rt.now(), self.batch)
        await asyncio.gather(*(Slots.guarded(i, self._send_one(i), self.wakeup) for i in ids))
        return reconciled + len(ids)

    async def stop(self, grace: float = 5.0) -> None:
        """Give the texts in flight `grace` seconds, then cancel the rest (a text cut off
        mid-request is "submitting", and is looked up at Twilio after the lease)."""
        await self.slots.stop(grace)

    async def seconds_to_next(self) -> float | None:
        async with self.rt.db.sessions() as session:
            pending, claimed = await messages.next_wakeup(session)
        now = self.rt.now()
        waits = []
        if pending is not None:
            waits.append((pending - now).total_seconds())
        if claimed is not None:
            waits.append((claimed + self.unknown_grace - now).total_seconds())
        return max(0.0, min(waits)) if waits else None

    async def _send_one(self, message_id: int) -> None:
        async with self.rt.urgent.hold():
            message = await self._take(message_id)
        if message is None:
            return
        practice = message.practice or is_simulated(message.conversation_phone)
        if not practice:
            await self.pacer.wait(self.sender or "twilio")
        callback = (
            self.rt.settings.status_callback_url(message.id)
            if self.rt.settings.public_base_url
            else None
        )
        to = message.conversation_phone
        # A simulated number only ever reaches the simulator, practice or not.
        gateway = self.rt.gateway(practice=practice)
        metrics = self.rt.metrics
        try:
            async with self.rt.urgent.hold():
                result = await gateway.send(to=to, body=message.body, status_callback=callback)
        except SmsRejected as rejected:
            if rejected.http_status == 429 and not practice:
                # Twilio's rate limit is the sender's: every instance holds off.
                await self.pacer.pause(self.sender or "twilio", rejected.retry_after or 1.0)
            failed = await self._rejected(message.id, rejected)
            reason = f"error_{rejected.code}" if rejected.code else f"http_{rejected.http_status}"
            metrics.delivered("sms", message.kind, "failed" if failed else "retried", reason)
        except SmsFateUnknown as unknown:
            log.warning(
                "text %s: fate unknown (%s); it will be checked at Twilio", message.id, unknown
            )
            await self._settle(message.id, status="unknown", reason=str(unknown))
            metrics.delivered("sms", message.kind, "unknown", "no_answer")
        else:
            await self._accepted(message.id, result)
            metrics.delivered("sms", message.kind, "sent")
            metrics.texts_sent.labels(
                "simulated" if gateway is self.rt.practice_sms else "twilio"
            ).inc()

    async def _take(self, message_id: int) -> _Taken | None:
        """Claim the text and run the send-time checks, in one transaction."""
        now = self.rt.now()
        async with self.rt.db.transaction() as session:
            if not await messages.take_for_sending(session, message_id, now):
                return None
            message = await messages.get(session, message_id)
            assert message is not None
            await session.refresh(message)
            conversation = await conversations.get(session, message.conversation_id)
            assert conversation is not None
            practice = await _is_practice(session, conversation)
            refusal = await self._refusal(session, message, conversation)
            if refusal is None and practice and not is_simulated(conversation.phone):
                refusal = "a practice text may only go to a simulated member", None
            if refusal is None:
                return _Taken(message.id, message.kind, message.body, conversation.phone, practice)
            reason, retry_at = refusal
            if retry_at is not None:
                message.status = "pending"
                message.not_before = retry_at
                message.status_reason = reason
            else:
                message.status = "blocked"
                message.status_reason = reason
                await outbox.enqueue(
                    session,
                    Kind.SMS_STATE,
                    now=now,
                    conversation_id=conversation.id,
                    message_id=message.id,
                )
            message.updated_at = now
        self.rt.wake()
        return None

    async def _refusal(
        self, session: AsyncSession, message: Message, conversation: Conversation
    ) -> Refusal | None:
        if await optouts.is_opted_out(session, conversation.phone):
            return "the member has opted out (texted STOP), so nothing was sent", None
        if message.kind == "reply" and message.author_id != conversation.owner_id:
            return "the conversation was reassigned before the text left, so nothing was sent", None
        for check in self.send_checks:
            refusal = await check(session, message, conversation)
            if refusal is not None:
                return refusal
        return None

    async def _accepted(self, message_id: int, result: SendResult) -> None:
        now = self.rt.now()
        async with self.rt.db.transaction() as session:
            message = await messages.get(session, message_id)
            assert message is not None
            message.twilio_sid = result.sid
            messages.advance_status(message, result.status)
            message.sent_at = now
            message.updated_at = now
            conversation = await conversations.get(session, message.conversation_id)
            if conversation is not None:
                conversation.last_outbound_at = now
            await outbox.enqueue(
                session,
                Kind.SMS_STATE,
                now=now,
                conversation_id=message.conversation_id,
                message_id=message.id,
            )
        log.info("text %s accepted by the gateway as %s", message_id, result.sid)
        self.rt.wake()

    async def _rejected(self, message_id: int, rejected: SmsRejected) -> bool:
        """Record Twilio's refusal; True if the text failed for good (False: retried)."""
        now = self.rt.now()
        async with self.rt.db.transaction() as session:
            message = await messages.get(session, message_id)
            assert message is not None
            message.error_code = rejected.code
            message.updated_at = now
            if rejected.retryable and message.attempts < MAX_ATTEMPTS:
                wait = rejected.retry_after or min(60.0, 2.0**message.attempts)
                message.status = "pending"
                message.not_before = now + timedelta(seconds=wait)
                message.status_reason = f"{rejected.reason}; retrying in {wait:.0f}s"
                log.info("text %s: %s, retrying in %.1fs", message_id, rejected.code, wait)
                return False
            message.status = "failed"
            message.status_reason = rejected.reason
            await outbox.enqueue(
                session,
                Kind.SMS_STATE,
                now=now,
                conversation_id=message.conversation_id,
                message_id=message.id,
            )
            if rejected.code != 21610:
                conversation = await conversations.get(session, message.conversation_id)
                if conversation is not None:
                    await support.notice(
                        session, self.rt, conversation, f"a text failed: {rejected.reason}", ":x:"
                    )
            if rejected.code == 21610:
                conversation = await conversations.get(session, message.conversation_id)
                await consent.opt_out(
                    session,
                    self.rt,
                    conversation.phone if conversation else "",
                    source="21610",
                    conversation=conversation,
                )
        log.warning("text %s failed: %s", message_id, rejected.reason)
        self.rt.wake()
        return True

    async def _settle(self, message_id: int, *, status: str, reason: str | None) -> None:
        async with self.rt.db.transaction() as session:
            message = await messages.get(session, message_id)
            assert message is not None
            message.status = status
            message.status_reason = reason
            message.updated_at = self.rt.now()

    async def reconcile(self, now: datetime | None = None) -> int:
        """Look up at Twilio every text whose fate is unknown; resend only what it lacks."""
        now = now or self.rt.now()
        async with self.rt.db.sessions() as session:
            doubtful = await messages.fate_unknown(session, now, self.unknown_grace, self.lease)
            # A text this worker is still sending is not in doubt (it may be waiting
            # its turn at the sender's rate).
            in_flight = self.slots.keys()
            doubtful = [m for m in doubtful if m.id not in in_flight]
            phones, practice = {}, {}
            for message in doubtful:
                conversation = await conversations.get(session, message.conversation_id)
                phones[message.id] = conversation.phone if conversation else ""
                practice[message.id] = await _is_practice(session, conversation)
        settled = 0
        for message in doubtful:
            assert message.claimed_at is not None
            since = message.claimed_at - timedelta(minutes=5)
            try:
                phone = phones[message.id]
                gateway = self.rt.gateway(practice=practice[message.id] or is_simulated(phone))
                found = await gateway.find_sent(to=phone, body=message.body, since=since)
            except (SmsFateUnknown, SmsRejected) as exc:
                log.warning("text %s: could not check at Twilio yet (%s)", message.id, exc)
                continue
            settled += await self._apply_lookup(message.id, message.claimed_at, found)
        return settled

    async def _apply_lookup(
        self, message_id: int, claimed_at: datetime, found: list[SendResult]
    ) -> int:
        """Settle a doubtful text from what Twilio holds, unless it changed hands since
        it was looked up (another instance settled it, or it was queued and sent again)."""
        now = self.rt.now()
        async with self.rt.db.transaction() as session:
            message = await messages.get(session, message_id)
            assert message is not None
            # Locked (on PostgreSQL), so two instances reconciling at once settle it once.
            await session.refresh(message, with_for_update=True)
            if message.twilio_sid is not None or message.status not in ("unknown", "submitting"):
                return 0
            if message.claimed_at != claimed_at:
                return 0
            unclaimed = [r for r in found if await messages.by_sid(session, r.sid) is None]
            if unclaimed:
                match = unclaimed[-1]  # the oldest of the candidates (lists are newest first)
                message.twilio_sid = match.sid
                messages.advance_status(message, match.status)
                message.status_reason = None
                message.sent_at = message.claimed_at
                log.info("text %s found at Twilio as %s; not resent", message_id, match.sid)
            else:
                message.status = "pending"
                message.status_reason = "Twilio had no record of it, so it was queued again"
                log.info("text %s never reached Twilio; queued again", message_id)
            message.updated_at = now
            await outbox.enqueue(
                session,
                Kind.SMS_STATE,
                now=now,
                conversation_id=message.conversation_id,
                message_id=message.id,
            )
        self.rt.wake()
        return 1


async def _is_practice(session: AsyncSession, conversation: Conversation | None) -> bool:
    """A practice campaign's text goes to simulated members, whatever the backend."""
    if conversation is None or conversation.campaign_id is None:
        return False
    campaign = await session.get(Campaign, conversation.campaign_id)
    return campaign is not None and campaign.practice


class _Taken:
    """What the send needs once the row is claimed (no session held open)."""

    __slots__ = ("body", "conversation_phone", "id", "kind", "practice")

    def __init__(self, message_id: int, kind: str, body: str, phone: str, practice: bool) -> None:
        self.id = message_id
        self.kind = kind
        self.body = body
        self.conversation_phone = phone
        self.practice = practice

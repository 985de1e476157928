"""What arrives from Twilio: members' texts and delivery reports.

Both are committed before the webhook answers (persist, then acknowledge);
Slack hears of them later, from the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge import consent, optout, support
from bot.bridge.twilio_errors import describe
from bot.intents import Kind
from bot.runtime import Runtime
from storage import conversations, messages, outbox
from storage.models import Conversation, Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingText:
    """A member's text as Twilio posted it."""

    sid: str
    from_: str
    body: str
    opt_out_type: str | None = None
    # Drop it if the number has no conversation, instead of opening one (a
    # simulated member whose practice batch was just ended).
    known_only: bool = False


async def receive_sms(
    rt: Runtime,
    *,
    sid: str,
    from_: str,
    body: str,
    opt_out_type: str | None = None,
    known_only: bool = False,
) -> bool:
    """Store a member's text and queue it for Slack; False if it was a duplicate."""
    return await receive_one(rt, IncomingText(sid, from_, body, opt_out_type, known_only))


async def receive_one(rt: Runtime, text: IncomingText) -> bool:
    """`text` in a transaction of its own; False if it was a duplicate (or dropped)."""
    for attempt in range(2):
        try:
            async with rt.db.transaction() as session:
                [stored] = await store_texts(session, rt, [text], rt.now())
        except IntegrityError:
            async with rt.db.sessions() as session:
                if await messages.stored_sids(session, [text.sid]):
                    # Twilio retried while the first delivery was still being stored.
                    log.info("inbound %s already stored", text.sid)
                    return False
            if attempt:
                raise  # not a duplicate: the webhook answers 5xx and Twilio retries
            # Another transaction opened the member's conversation (or opted the
            # number out) a moment before: it is there now, so try once more.
            continue
        if stored:
            rt.wake(sms=False)
        return stored
    raise AssertionError("unreachable")


async def store_texts(
    session: AsyncSession, rt: Runtime, texts: list[IncomingText], now: datetime
) -> list[bool]:
    """Store `texts` in `session`'s transaction and queue each for Slack, in order.

    For each, whether it was stored: not if its SID is stored already (or came
    earlier in `texts`), nor if it is `known_only` from a number with no
    conversation. A batch costs a few statements, not a few per text: SIDs and
    conversations are looked up for all at once, and the messages written in
    one flush.
    """
    seen = await messages.stored_sids(session, [text.sid for text in texts])
    latest = await conversations.latest_for_phones(session, {text.from_ for text in texts})
    await _open_conversations(session, texts, seen, latest, now)
    results: list[bool] = []
    kept: list[tuple[IncomingText, Conversation, Message]] = []
    for text in texts:
        conversation = latest.get(text.from_)
        if text.sid in seen or conversation is None:  # None: known_only, and unknown
            results.append(False)
            continue
        message = Message(
            conversation_id=conversation.id,
            direction="in",
            kind="inbound",
            body=text.body,
            status="received",
            twilio_sid=text.sid,
            created_at=now,
            updated_at=now,
        )
        session.add(message)
        seen.add(text.sid)
        conversation.last_inbound_at = now
        conversation.updated_at = now
        kept.append((text, conversation, message))
        results.append(True)
    await session.flush()  # every message's id, in one INSERT
    for text, conversation, message in kept:
        await outbox.enqueue(
            session,
            Kind.INBOUND,
            now=now,
            conversation_id=conversation.id,
            message_id=message.id,
            flush=False,
        )
        await _keywords(session, rt, text, conversation)
        log.debug("inbound text %s stored for conversation %s", text.sid, conversation.id)
    return results


async def _open_conversations(
    session: AsyncSession,
    texts: list[IncomingText],
    seen: set[str],
    latest: dict[str, Conversation],
    now: datetime,
) -> None:
    """A conversation for each new number among `texts` (not `known_only` ones), with
    its member if the number is on a roster: all in one query and one flush."""
    phones = list(
        dict.fromkeys(
            t.from_
            for t in texts
            if t.sid not in seen and t.from_ not in latest and not t.known_only
        )
    )
    if not phones:
        return
    # Two transactions (two batches, two instances) must not both open one: once
    # the numbers are locked, look again for what another opened meanwhile.
    if await conversations.lock_phones(session, phones):
        latest.update(await conversations.latest_for_phones(session, phones))
        phones = [phone for phone in phones if phone not in latest]
        if not phones:
            return
    members = await conversations.members_by_phone(session, phones)
    for phone in phones:
        latest[phone] = conversations.new(phone=phone, now=now, member=members.get(phone))
        session.add(latest[phone])
    await session.flush()


async def _keywords(
    session: AsyncSession, rt: Runtime, text: IncomingText, conversation: Conversation
) -> None:
    """STOP and START (and their synonyms, or Twilio's own OptOutType)."""
    keyword = optout.from_twilio_opt_out_type(text.opt_out_type) or optout.classify(text.body)
    source = "twilio" if text.opt_out_type else "keyword"
    if keyword is optout.Keyword.OPT_OUT:
        await consent.opt_out(
            session,
            rt,
            text.from_,
            source=source,
            conversation=conversation,
            word=text.body.strip() or "STOP",
        )
    elif keyword is optout.Keyword.OPT_IN:
        await consent.opt_in(session, rt, text.from_, conversation=conversation)


async def record_status(
    rt: Runtime,
    *,
    sid: str,
    status: str,
    error_code: int | None = None,
    message_id: int | None = None,
) -> bool:
    """Apply a Twilio status callback; False if it changed nothing (old or repeated)."""
    now = rt.now()
    async with rt.db.transaction() as session:
        message = await messages.by_sid(session, sid)
        if message is None and message_id is not None:
            # The callback can beat the answer to our create request.
            candidate = await messages.get(session, message_id)
            if candidate is not None and candidate.twilio_sid in (None, sid):
                message = candidate
                message.twilio_sid = sid
        if message is None:
            log.warning("status callback for unknown message %s ignored", sid)
            return False
        changed = messages.advance_status(message, status)
        if changed and error_code:
            message.error_code = error_code
            message.status_reason = describe(error_code)
        if not changed:
            return False
        message.updated_at = now
        await outbox.enqueue(
            session,
            Kind.SMS_STATE,
            now=now,
            conversation_id=message.conversation_id,
            message_id=message.id,
        )
        conversation = await conversations.get(session, message.conversation_id)
        if status in ("failed", "undelivered") and error_code != 21610 and conversation:
            reason = message.status_reason or "Twilio gave no reason"
            await support.notice(
                session, rt, conversation, f"a text was not delivered: {reason}", ":x:"
            )
        if error_code == 21610:
            if conversation is not None:
                await consent.opt_out(
                    session, rt, conversation.phone, source="21610", conversation=conversation
                )
    rt.wake()
    return True

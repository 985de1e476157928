"""reconcile: texts whose fate is unknown, and lost status callbacks, set right.

A send whose answer never came is looked up at Twilio (the SMS outbox's own
check, with a longer grace here); a text Twilio took but whose final state
never arrived is fetched by SID. Nothing is resent blindly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.bridge import consent
from bot.bridge.sms_gateway import SmsFateUnknown, SmsRejected
from bot.bridge.sms_outbox import SmsOutbox
from bot.bridge.twilio_errors import describe
from bot.intents import Kind
from bot.runtime import Runtime
from storage import conversations, messages, outbox
from storage import sweeps as queries

log = logging.getLogger(__name__)

UNKNOWN_AFTER = timedelta(minutes=3)
CALLBACK_LOST_AFTER = timedelta(minutes=15)


async def run(rt: Runtime, now: datetime) -> str:
    checker = SmsOutbox(rt, unknown_grace=UNKNOWN_AFTER, lease=UNKNOWN_AFTER)
    unknown = await checker.reconcile(now)
    async with rt.db.sessions() as session:
        stale = await queries.stale_sent(session, before=now - CALLBACK_LOST_AFTER)
        pending = [(m.id, m.twilio_sid) for m in stale]
    fixed = 0
    for message_id, sid in pending:
        assert sid is not None
        try:
            found = await rt.gateway_for_sid(sid).fetch(sid)
        except (SmsFateUnknown, SmsRejected) as exc:
            log.warning("text %s: could not fetch from Twilio (%s)", message_id, exc)
            continue
        if found is None:
            continue
        async with rt.db.transaction() as session:
            message = await messages.get(session, message_id)
            assert message is not None
            if not messages.advance_status(message, found.status):
                message.updated_at = now  # checked: nothing newer, look again later
                continue
            message.updated_at = now
            if found.error_code:
                message.error_code = found.error_code
                message.status_reason = describe(found.error_code)
            await outbox.enqueue(
                session,
                Kind.SMS_STATE,
                now=now,
                conversation_id=message.conversation_id,
                message_id=message.id,
            )
            if found.error_code == 21610:
                conversation = await conversations.get(session, message.conversation_id)
                if conversation is not None:
                    await consent.opt_out(
                        session, rt, conversation.phone, source="21610", conversation=conversation
                    )
            fixed += 1
    rt.wake()
    return f"settled {unknown} texts of unknown fate, caught up {fixed} lost status reports"

"""Opting out and back in: the global do-not-text list and what it tells people.

An opt-out is never lost: it is written in the same transaction as the
event that caused it (the STOP text, Twilio's report, error 21610).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge import support
from bot.intents import Kind
from bot.runtime import Runtime
from storage import events, optouts, outbox
from storage.models import Conversation

SOURCES = {
    "keyword": "the member texted {word}",
    "twilio": "Twilio reported the member opted out",
    "21610": "Twilio refused the text: the member has unsubscribed (error 21610)",
    "button": "their activist recorded that they asked not to be texted",
}


async def opt_out(
    session: AsyncSession,
    rt: Runtime,
    phone: str,
    *,
    source: str,
    conversation: Conversation | None,
    word: str = "STOP",
    actor: str = "member",
) -> bool:
    """Put `phone` on the opt-out list; True if it was newly added (audited with `actor`)."""
    now = rt.now()
    why = SOURCES.get(source, source).format(word=word.upper())
    added = await optouts.add(session, phone, source=source, now=now, detail=why)
    if not added:
        return False
    await events.audit(
        session,
        actor=actor,
        action="opt_out",
        now=now,
        source=source,
        conversation_id=conversation.id if conversation else None,
    )
    if conversation is not None:
        note = f":no_entry_sign: Opted out: {why}. No more texts will be sent to this member."
        await outbox.enqueue(
            session, Kind.NOTE, now=now, conversation_id=conversation.id, payload={"text": note}
        )
        await outbox.enqueue(session, Kind.CARD, now=now, conversation_id=conversation.id)
        await support.notice(session, rt, conversation, f"opted out: {why}", ":no_entry_sign:")
    return True


async def opt_in(
    session: AsyncSession, rt: Runtime, phone: str, *, conversation: Conversation | None
) -> bool:
    """Take `phone` off the list because the member texted START; True if it was on."""
    now = rt.now()
    removed = await optouts.remove(session, phone)
    if not removed:
        return False
    await events.audit(
        session,
        actor="member",
        action="opt_in",
        now=now,
        conversation_id=conversation.id if conversation else None,
    )
    if conversation is not None:
        note = ":white_check_mark: The member texted START and has opted back in."
        await outbox.enqueue(
            session, Kind.NOTE, now=now, conversation_id=conversation.id, payload={"text": note}
        )
        await outbox.enqueue(session, Kind.CARD, now=now, conversation_id=conversation.id)
    return True

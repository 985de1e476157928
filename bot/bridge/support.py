"""The support channel's side of a conversation: questions, answers, notices.

An activist asks for help from a member card; the question arrives in the
support channel as a card; what a coordinator writes in that card's thread
is passed into the activist's conversation thread. Texts that failed for
good and opt-outs are posted there too, so coordinators see what needs them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge.blocks import member_label
from bot.bridge.outbound import SlackMessage
from bot.intents import Kind
from bot.runtime import Runtime
from bot.text import escape_for_slack
from storage import conversations, events, outbox
from storage.models import Campaign, Conversation

ASK_CALLBACK = "help_question"
QUESTION_BLOCK, QUESTION_ACTION = "question", "question_text"


class HelpError(Exception):
    """The question could not be asked; the message says why."""


async def ask_for_help(rt: Runtime, user: str, conversation_id: int, question: str) -> None:
    if not question.strip():
        raise HelpError("Write your question first.")
    now = rt.now()
    async with rt.db.transaction() as session:
        conversation = await conversations.get(session, conversation_id)
        if conversation is None or conversation.owner_id != user:
            raise HelpError("You can ask about your own conversations only.")
        await outbox.enqueue(
            session,
            Kind.HELP,
            now=now,
            conversation_id=conversation.id,
            payload={"user": user, "question": question.strip()},
        )
        await events.audit(
            session, actor=user, action="ask_for_help", now=now, conversation_id=conversation.id
        )
    rt.wake()


async def relay_answer(rt: Runtime, msg: SlackMessage) -> bool:
    """A coordinator wrote in a help card's thread: pass it to the activist's thread."""
    async with rt.db.transaction() as session:
        if msg.event_id and not await events.first_sight(session, msg.event_id, rt.now()):
            return False
        found = await conversations.by_thread(session, msg.channel, msg.thread_ts)
        if found is None or found[1].kind != "help" or msg.user == found[1].user_id:
            return False
        conversation = found[0]
        text = f":speech_balloon: <@{msg.user}> answered your question: {msg.text}"
        await outbox.enqueue(
            session,
            Kind.NOTE,
            now=rt.now(),
            conversation_id=conversation.id,
            payload={"text": text},
        )
    rt.wake()
    return True


async def notice(
    session: AsyncSession, rt: Runtime, conversation: Conversation, text: str, icon: str
) -> None:
    """Tell the support channel something about a conversation (failure, opt-out).

    Not for practice: a trainee's simulated STOP is no news for coordinators
    (the trainee sees it on the card).
    """
    if conversation.campaign_id is not None:
        campaign = await session.get(Campaign, conversation.campaign_id)
        if campaign is not None and campaign.practice:
            return
    await outbox.enqueue(
        session,
        Kind.SUPPORT_NOTE,
        now=rt.now(),
        conversation_id=conversation.id,
        payload={"text": text, "icon": icon},
    )


async def question_view(rt: Runtime, conversation_id: int) -> dict[str, object]:
    """The Ask for help modal for a conversation, naming its member."""
    async with rt.db.sessions() as session:
        conversation = await conversations.get(session, conversation_id)
        member = await conversations.member_of(session, conversation) if conversation else None
    name = member_label(member, conversation.phone if conversation else "")
    return question_modal(conversation_id, name)


def question_modal(conversation_id: int, member_name: str) -> dict[str, object]:
    return {
        "type": "modal",
        "callback_id": ASK_CALLBACK,
        "title": {"type": "plain_text", "text": "Ask for help"},
        "submit": {"type": "plain_text", "text": "Ask"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": str(conversation_id),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"Your question about *{escape_for_slack(member_name)}* goes to the "
                        "coordinators' channel with a link to the thread."
                    ),
                },
            },
            {
                "type": "input",
                "block_id": QUESTION_BLOCK,
                "label": {"type": "plain_text", "text": "Question"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": QUESTION_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                },
            },
        ],
    }

"""Block Kit for the surfaces Turnout posts: member cards, Claim cards, texts.

A member's words are always shown as `plain_text` (and escaped in the
fallback `text`), so nothing a member types becomes a mention or a link.
"""

from __future__ import annotations

from typing import Any

from bot.bridge.card_actions import (
    RELEASE_ACTION,
    card_actions,
    outcome_label,
    suggestion_blocks,
)
from bot.campaigns.campaign_file import CampaignSpec
from bot.phones import mask
from bot.scripts import segments
from bot.scripts.suggestions import Suggestion
from bot.text import PRACTICE_MARK, escape_for_slack
from storage.models import Conversation, Member

Block = dict[str, Any]

CLAIM_ACTION = "conversation_claim"
PRACTICE_CARD = (
    f"{PRACTICE_MARK}: a simulated member, not a real person. "
    "Nothing you send here reaches a phone."
)
__all__ = ["CLAIM_ACTION", "RELEASE_ACTION"]


def member_label(member: Member | None, phone: str) -> str:
    if member is None:
        return f"Unknown number {mask(phone)}"
    return member.full_name


def member_card(
    conversation: Conversation,
    member: Member | None,
    *,
    opted_out: bool,
    spec: CampaignSpec | None = None,
    practice: bool = False,
) -> tuple[str, list[Block]]:
    """The parent message of a conversation thread in the activist's DM."""
    name = member_label(member, conversation.phone)
    facts = [f"*Phone:* {mask(conversation.phone)}"]
    if member is not None and member.branch:
        facts.insert(0, f"*Branch:* {escape_for_slack(member.branch)}")
    status = ":no_entry_sign: Opted out — do not text" if opted_out else _status(conversation)
    facts.append(f"*Status:* {status}")
    if conversation.outcome:
        label = outcome_label(spec, conversation.outcome)
        facts.append(f"*Outcome:* {escape_for_slack(label)}")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": name[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in facts]},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Reply in this thread to text the member. "
                    "Edits and deletions do not reach their phone.",
                }
            ],
        },
    ]
    if conversation.owner_id is not None:
        blocks.extend(card_actions(conversation, spec, opted_out=opted_out))
    if practice:
        blocks.insert(1, _context(PRACTICE_CARD))
        return f"{PRACTICE_MARK}: conversation with {escape_for_slack(name)}", blocks
    return f"Conversation with {escape_for_slack(name)}", blocks


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _status(conversation: Conversation) -> str:
    return "closed" if conversation.state == "closed" else "open"


def inbound_text(
    owner_id: str | None,
    member: Member | None,
    phone: str,
    body: str,
    suggestion: tuple[int, Suggestion] | None = None,
    practice: bool = False,
) -> tuple[str, list[Block]]:
    """A member's SMS as a thread reply; the owner is mentioned so Slack notifies them.

    With `suggestion` (the message id and what its words look like), the post
    offers that outcome, and its script, one click each.
    """
    name = member_label(member, phone)
    ping = f"<@{owner_id}> " if owner_id else ""
    mark = f"{PRACTICE_MARK} · " if practice else ""
    fallback = f"{ping}{mark}{escape_for_slack(name)}: {escape_for_slack(body)}"
    blocks: list[Block] = [
        _context(f"{ping}{mark}:speech_balloon: *{escape_for_slack(name)}* texted:"),
        {"type": "section", "text": {"type": "plain_text", "text": body or " ", "emoji": False}},
    ]
    if suggestion is not None:
        blocks += suggestion_blocks(*suggestion)
    return fallback, blocks


def claim_card(
    conversation: Conversation, member: Member | None, body: str
) -> tuple[str, list[Block]]:
    """A reply nobody owns, posted to the support channel with a Claim button."""
    name = member_label(member, conversation.phone)
    where = f" ({escape_for_slack(member.branch)})" if member is not None and member.branch else ""
    fallback = f"Unowned reply from {escape_for_slack(name)}: {escape_for_slack(body)}"
    blocks: list[Block] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f":incoming_envelope: *{escape_for_slack(name)}*{where} texted and "
                "nobody owns this conversation.",
            },
        },
        {"type": "section", "text": {"type": "plain_text", "text": body or " ", "emoji": False}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": CLAIM_ACTION,
                    "text": {"type": "plain_text", "text": "Claim"},
                    "style": "primary",
                    "value": str(conversation.id),
                }
            ],
        },
    ]
    return fallback, blocks


def claimed_card(member: Member | None, phone: str, owner_id: str) -> tuple[str, list[Block]]:
    name = escape_for_slack(member_label(member, phone))
    text = f":raised_hand: *{name}* was claimed by <@{owner_id}>."
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def transcript(lines: list[tuple[str, str]]) -> tuple[str, list[Block]]:
    """The conversation so far, for a new owner: (who, what) pairs, oldest first."""
    shown = lines[-40:]
    head = "*The conversation so far*"
    if len(lines) > len(shown):
        head += f" (the last {len(shown)} of {len(lines)} texts)"
    body = "\n".join(f"{who}: {what}" for who, what in shown) or "(no texts yet)"
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        {"type": "section", "text": {"type": "plain_text", "text": body[:2900], "emoji": False}},
    ]
    return f"The conversation so far:\n{escape_for_slack(body)}", blocks


def _cost(body: str) -> str:
    f = segments.figures(body)
    return f"{f.encoding}, {f.segments} segment{'s' if f.segments != 1 else ''}"


def sent_text(body: str, state: str, reason: str | None) -> tuple[str, list[Block]]:
    """A text Turnout sent on the activist's behalf, with its delivery state."""
    line = f"_{state}_" + (
        f": {escape_for_slack(reason)}" if reason and state != "delivered" else ""
    )
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "plain_text", "text": body or " ", "emoji": False}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f":outbox_tray: Texted · {line} · {_cost(body)}"}
            ],
        },
    ]
    return f"You texted: {escape_for_slack(body)}", blocks

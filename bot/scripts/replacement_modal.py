"""The modal that takes a replacement-ballot request's details."""

from __future__ import annotations

import json
from typing import Any

from bot.runtime import Runtime
from bot.scripts.outcomes import Replacement
from storage import conversations

CALLBACK = "replacement_details"
ADDRESS_BLOCK, ADDRESS_ACTION = "address", "address_choice"
NEW_BLOCK, NEW_ACTION = "new_address", "new_address_text"
NOTES_BLOCK, NOTES_ACTION = "notes", "notes_text"


async def for_conversation(rt: Runtime, conversation_id: int, outcome: str) -> dict[str, Any]:
    """The details modal, naming the conversation's member."""
    async with rt.db.sessions() as session:
        conversation = await conversations.get(session, conversation_id)
        member = await conversations.member_of(session, conversation) if conversation else None
    return build(conversation_id, outcome, member.full_name if member else "this member")


def build(conversation_id: int, outcome: str, member_name: str) -> dict[str, Any]:
    choices = [
        {
            "text": {"type": "plain_text", "text": "Address we hold is still right"},
            "value": "confirmed",
        },
        {"text": {"type": "plain_text", "text": "Member gave a new address"}, "value": "new"},
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": {"type": "plain_text", "text": "Replacement ballot"},
        "submit": {"type": "plain_text", "text": "Request it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"conversation": conversation_id, "outcome": outcome}),
        "blocks": [
            {
                "type": "section",
                "text": {"type": "plain_text", "text": f"Replacement ballot for {member_name}"},
            },
            {
                "type": "input",
                "block_id": ADDRESS_BLOCK,
                "label": {"type": "plain_text", "text": "Address"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": ADDRESS_ACTION,
                    "options": choices,
                    "initial_option": choices[0],
                },
            },
            {
                "type": "input",
                "block_id": NEW_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "New address (if it changed)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NEW_ACTION,
                    "multiline": True,
                    "max_length": 500,
                },
            },
            {
                "type": "input",
                "block_id": NOTES_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Notes for the organiser"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTES_ACTION,
                    "multiline": True,
                    "max_length": 1000,
                },
            },
        ],
    }


def read(view: dict[str, Any]) -> tuple[int, str, Replacement, dict[str, str]]:
    """(conversation id, outcome key, details, errors by block) from a submission."""
    meta = json.loads(view.get("private_metadata") or "{}")
    values = (view.get("state") or {}).get("values", {})
    choice = (
        (values.get(ADDRESS_BLOCK, {}).get(ADDRESS_ACTION) or {}).get("selected_option") or {}
    ).get("value", "confirmed")
    new = ((values.get(NEW_BLOCK, {}).get(NEW_ACTION) or {}).get("value") or "").strip()
    notes = ((values.get(NOTES_BLOCK, {}).get(NOTES_ACTION) or {}).get("value") or "").strip()
    errors: dict[str, str] = {}
    if choice == "new" and not new:
        errors[NEW_BLOCK] = "Type the new address, or choose that the address is still right."
    details = Replacement(
        address_confirmed=choice != "new", new_address=new or None, notes=notes or None
    )
    return int(meta["conversation"]), str(meta["outcome"]), details, errors

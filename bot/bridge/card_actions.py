"""The buttons and menu on a member card: outcomes, scripts, opt-out, release."""

from __future__ import annotations

import re
from typing import Any

from bot.campaigns.campaign_file import CampaignSpec
from bot.scripts.suggestions import Suggestion
from bot.text import escape_for_slack
from storage.models import Conversation

OUTCOME_PREFIX = "outcome_"
OUTCOME_ACTION = re.compile(rf"^{OUTCOME_PREFIX}[a-z0-9_]+$")
OPT_OUT_ACTION = "member_opt_out"
SCRIPT_MENU_ACTION = "script_menu"
RELEASE_ACTION = "conversation_release"
ASK_ACTION = "ask_for_help"
OPT_OUT_KEY = "opt_out"
SUGGESTED_OUTCOME_ACTION = "suggested_outcome"
SUGGESTED_SCRIPT_ACTION = "suggested_script"

Block = dict[str, Any]


def outcome_label(spec: CampaignSpec | None, key: str) -> str:
    if key == OPT_OUT_KEY:
        return "Opted out"
    for outcome in spec.outcomes if spec else ():
        if outcome.key == key:
            return outcome.label
    return key.replace("_", " ")


def card_actions(
    conversation: Conversation, spec: CampaignSpec | None, *, opted_out: bool
) -> list[Block]:
    value = str(conversation.id)
    outcomes: list[Block] = []
    for outcome in spec.outcomes if spec else ():
        button: Block = {
            "type": "button",
            "action_id": f"{OUTCOME_PREFIX}{outcome.key}",
            "text": {"type": "plain_text", "text": outcome.label[:75]},
            "value": value,
        }
        if outcome.key == conversation.outcome:
            button["style"] = "primary"
        outcomes.append(button)
    blocks: list[Block] = []
    for start in range(0, len(outcomes), 5):
        blocks.append({"type": "actions", "elements": outcomes[start : start + 5]})
    tools: list[Block] = []
    if spec is not None and spec.scripts and not opted_out:
        tools.append(
            {
                "type": "static_select",
                "action_id": SCRIPT_MENU_ACTION,
                "placeholder": {"type": "plain_text", "text": "Send a script…"},
                "options": [
                    {"text": {"type": "plain_text", "text": name[:75]}, "value": f"{value}:{name}"}
                    for name in list(spec.scripts)[:100]
                ],
            }
        )
    if not opted_out:
        tools.append(
            _confirmed(
                OPT_OUT_ACTION,
                "Opt out",
                value,
                "Opt this member out?",
                "They will never be texted again by any campaign, unless they text START.",
                danger=True,
            )
        )
    tools.append(
        {
            "type": "button",
            "action_id": ASK_ACTION,
            "text": {"type": "plain_text", "text": "Ask for help"},
            "value": value,
        }
    )
    tools.append(
        _confirmed(
            RELEASE_ACTION,
            "Release",
            value,
            "Release this member?",
            "Their replies will go to the support channel.",
        )
    )
    blocks.append({"type": "actions", "elements": tools})
    return blocks


def _confirmed(
    action_id: str, label: str, value: str, title: str, text: str, *, danger: bool = False
) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
        "confirm": {
            "title": {"type": "plain_text", "text": title},
            "text": {"type": "plain_text", "text": text},
            "confirm": {"type": "plain_text", "text": label},
            "deny": {"type": "plain_text", "text": "Cancel"},
        },
    }
    if danger:
        button["style"] = "danger"
    return button


def suggestion_blocks(message_id: int, suggestion: Suggestion) -> list[Block]:
    """ "Looks like: Voted" under a member's text, with one click to record and one to send."""
    value = str(message_id)
    if suggestion.outcome == OPT_OUT_KEY:
        record = _confirmed(
            SUGGESTED_OUTCOME_ACTION,
            "Opt out",
            value,
            "Opt this member out?",
            "They will never be texted again by any campaign, unless they text START.",
            danger=True,
        )
    else:
        record = {
            "type": "button",
            "action_id": SUGGESTED_OUTCOME_ACTION,
            "text": {"type": "plain_text", "text": f"Record: {suggestion.label}"[:75]},
            "value": value,
            "style": "primary",
        }
    buttons = [record]
    if suggestion.script is not None:
        buttons.append(
            {
                "type": "button",
                "action_id": SUGGESTED_SCRIPT_ACTION,
                "text": {"type": "plain_text", "text": f"Send ;{suggestion.script}"[:75]},
                "value": value,
            }
        )
    return [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f":bulb: Looks like: *{escape_for_slack(suggestion.label)}*",
                },
            ],
        },
        {"type": "actions", "block_id": f"suggestion:{value}", "elements": buttons},
    ]

"""The scripts modal: pick a conversation and a script, see it, edit it, send.

The view is rebuilt from the choices each time one changes, so the preview
(and its cost in SMS segments) always matches what would be sent.
"""

from __future__ import annotations

import json
from typing import Any

from bot.runtime import Runtime
from bot.scripts import canned, segments

CALLBACK = "script_send"
PICK_CONVERSATION = "pick_conversation"
PICK_SCRIPT = "pick_script"
TEXT_ACTION = "text"
USE_GSM_ACTION = "use_gsm"

View = dict[str, Any]


async def build(
    rt: Runtime, user: str, conversation_id: int | None = None, script: str | None = None
) -> View:
    mine = await canned.my_conversations(rt, user)
    if not mine:
        return _view(
            [
                _section(
                    "You have no conversations yet. Send your first texts from the Home tab, "
                    "then use scripts to answer replies."
                )
            ],
            submit=False,
        )
    conversation_options = [
        _option(f"{'💬 ' if waiting else ''}{name}", str(cid)) for cid, name, waiting in mine[:100]
    ]
    pickers: dict[str, Any] = {
        "type": "static_select",
        "action_id": PICK_CONVERSATION,
        "placeholder": {"type": "plain_text", "text": "Conversation (waiting replies first)"},
        "options": conversation_options,
    }
    chosen = next((o for o in conversation_options if o["value"] == str(conversation_id)), None)
    if chosen:
        pickers["initial_option"] = chosen
    elements: list[dict[str, Any]] = [pickers]
    names = await canned.script_names(rt, conversation_id) if conversation_id else []
    if names:
        script_select: dict[str, Any] = {
            "type": "static_select",
            "action_id": PICK_SCRIPT,
            "placeholder": {"type": "plain_text", "text": "Script"},
            "options": [_option(n, n) for n in names[:100]],
        }
        if script in names:
            script_select["initial_option"] = _option(script, script)
        elements.append(script_select)
    blocks: list[dict[str, Any]] = [
        {"type": "actions", "block_id": "pickers", "elements": elements}
    ]
    ready = False
    if conversation_id is not None and script is not None:
        try:
            rendered = await canned.render(rt, user, conversation_id, script)
        except canned.ScriptError as problem:
            blocks.append(_section(f":warning: {problem}"))
        else:
            blocks.extend(composed(rendered.text, block_id=f"text_{conversation_id}_{script}"))
            ready = True
    meta = json.dumps({"conversation": conversation_id, "script": script})
    return _view(blocks, submit=ready, private_metadata=meta)


def composed(text: str, *, block_id: str) -> list[dict[str, Any]]:
    """The editable text and what it costs to send, offering the GSM-7 version if cheaper."""
    cost = segments.figures(text)
    offer: list[dict[str, Any]] = []
    if cost.encoding == "UCS-2" and segments.gsm_replacement(text) != text:
        offer.append(
            {
                "type": "actions",
                "block_id": f"gsm_{block_id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": USE_GSM_ACTION,
                        "value": block_id,
                        "text": {"type": "plain_text", "text": "Use the GSM-7 version"},
                    }
                ],
            }
        )
    return [
        {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": "Text to send (you can edit it)"},
            "element": {
                "type": "plain_text_input",
                "action_id": TEXT_ACTION,
                "multiline": True,
                "initial_value": text,
                "max_length": 1600,
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": segments.describe(cost, text),
                }
            ],
        },
        *offer,
    ]


def with_gsm_text(view: dict[str, Any], block_id: str) -> View:
    """The same modal with the text (as the activist left it) in its GSM-7 version."""
    typed = (
        (view.get("state") or {}).get("values", {}).get(block_id, {}).get(TEXT_ACTION) or {}
    ).get("value")
    blocks = view.get("blocks", [])
    index = next(i for i, b in enumerate(blocks) if b.get("block_id") == block_id)
    current = typed if typed is not None else blocks[index]["element"].get("initial_value", "")
    replaced = segments.gsm_replacement(current)
    # The text is the last part of the view. A new block id, or Slack would
    # keep showing what was typed before.
    rebuilt = [*blocks[:index], *composed(replaced, block_id=f"{block_id}g")]
    keep = ("type", "callback_id", "title", "close", "submit", "private_metadata")
    return {**{k: view[k] for k in keep if k in view}, "blocks": rebuilt}


def submitted(view: dict[str, Any]) -> tuple[int | None, str | None, str | None, str | None]:
    """(conversation id, script, text, block id of the text) from a submitted view."""
    meta = json.loads(view.get("private_metadata") or "{}")
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        if TEXT_ACTION in actions:
            return (
                meta.get("conversation"),
                meta.get("script"),
                actions[TEXT_ACTION].get("value"),
                block_id,
            )
    return meta.get("conversation"), meta.get("script"), None, None


def choices(view: dict[str, Any], action: dict[str, Any]) -> tuple[int | None, str | None]:
    """The conversation and script chosen so far, after one picker changed."""
    meta = json.loads(view.get("private_metadata") or "{}")
    conversation, script = meta.get("conversation"), meta.get("script")
    value = (action.get("selected_option") or {}).get("value")
    if action.get("action_id") == PICK_CONVERSATION and value:
        conversation, script = int(value), script
    elif action.get("action_id") == PICK_SCRIPT and value:
        script = value
    return conversation, script


def _view(blocks: list[dict[str, Any]], *, submit: bool, private_metadata: str = "{}") -> View:
    view: View = {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": {"type": "plain_text", "text": "Send a script"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": "Send"}
    return view


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}

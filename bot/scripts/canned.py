"""Canned scripts: render for a member, send into a conversation, manage.

Three ways in (the modal from `/turnout scripts`, the menu on a member card,
and a `;name` thread reply) all end in `send_text`, so the checks are the
same whichever was used: the activist owns the conversation, the member is
not opted out, and no script leaves with a field missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge.outbound import SlackMessage, accept_thread_reply, queue_sms
from bot.campaigns.campaign_file import CampaignFileError, CampaignSpec
from bot.campaigns.lifecycle import resolve, spec_of
from bot.campaigns.roles import Role, require
from bot.campaigns.sending import activist_first_name, script_values
from bot.intents import Kind
from bot.runtime import Runtime
from bot.scripts import templates
from storage import assignments, conversations, events, messages, optouts, outbox
from storage.models import Campaign, Conversation

SHORTCUT = re.compile(r"^;([a-z][a-z0-9_]*)$")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ScriptError(Exception):
    """Nothing was sent; the message says why and what to do."""


@dataclass(frozen=True)
class Rendered:
    conversation_id: int
    script: str
    text: str


async def _owned(session: AsyncSession, user: str, conversation_id: int) -> Conversation:
    conversation = await conversations.get(session, conversation_id)
    if conversation is None or conversation.owner_id != user:
        raise ScriptError("That member is not in your conversations, so nothing was sent.")
    return conversation


async def _spec(session: AsyncSession, conversation: Conversation) -> CampaignSpec:
    if conversation.campaign_id is None:
        raise ScriptError("Scripts belong to a campaign, and this number is not in one.")
    campaign = await session.get(Campaign, conversation.campaign_id)
    assert campaign is not None
    return spec_of(campaign)


async def render(rt: Runtime, user: str, conversation_id: int, script: str) -> Rendered:
    """The script filled in for this member; ScriptError if unknown or a field is missing."""
    first_name = await activist_first_name(rt, user)
    async with rt.db.sessions() as session:
        conversation = await _owned(session, user, conversation_id)
        spec = await _spec(session, conversation)
        template = spec.scripts.get(script)
        if template is None:
            raise ScriptError(unknown_script(script, spec))
        member = await conversations.member_of(session, conversation)
        assert member is not None
        try:
            text = templates.render(template, script_values(spec, member, first_name))
        except templates.MissingFields as missing:
            names = ", ".join(f"{{{m}}}" for m in missing.missing)
            raise ScriptError(
                f"Not sent: `{script}` needs {names}, which {member.full_name} has no value "
                "for. Write your own reply instead."
            ) from missing
    return Rendered(conversation_id, script, text)


def unknown_script(name: str, spec: CampaignSpec) -> str:
    names = ", ".join(f"`;{n}`" for n in spec.scripts) or "none yet"
    return f"There is no script `{name}`, so nothing was sent. Scripts: {names}."


async def send_text(rt: Runtime, user: str, conversation_id: int, text: str, *, key: str) -> bool:
    """Text `text` (a rendered, perhaps edited, script) into the conversation, once per key."""
    if not text.strip():
        raise ScriptError("The text is empty, so nothing was sent.")
    now = rt.now()
    async with rt.db.transaction() as session:
        conversation = await _owned(session, user, conversation_id)
        if await optouts.is_opted_out(session, conversation.phone):
            raise ScriptError("The member has opted out (texted STOP), so nothing was sent.")
        if await messages.by_key(session, key) is not None:
            return False  # a double submit
        sms = await queue_sms(
            session, rt, conversation, kind="script", body=text.strip(), author_id=user, key=key
        )
        await outbox.enqueue(
            session, Kind.POST_SENT, now=now, conversation_id=conversation.id, message_id=sms.id
        )
    rt.wake()
    return True


async def thread_reply(rt: Runtime, msg: SlackMessage) -> None:
    """A reply in a conversation thread: `;name` sends that script, anything else as typed."""
    match = SHORTCUT.match(msg.text.strip())
    if match is None:
        await accept_thread_reply(rt, msg)
        return
    async with rt.db.sessions() as session:
        found = await conversations.by_thread(session, msg.channel, msg.thread_ts)
    if found is None or found[1].kind != "dm" or found[0].owner_id != msg.user:
        await accept_thread_reply(rt, msg)  # it explains who may text from here
        return
    try:
        rendered = await render(rt, msg.user, found[0].id, match.group(1))
        await send_text(
            rt, msg.user, found[0].id, rendered.text, key=f"slack:{msg.channel}:{msg.ts}"
        )
    except ScriptError as problem:
        async with rt.db.transaction() as session:
            await outbox.enqueue(
                session,
                Kind.EPHEMERAL,
                now=rt.now(),
                payload={
                    "channel": msg.channel,
                    "user": msg.user,
                    "thread_ts": msg.thread_ts,
                    "text": str(problem),
                },
            )
        rt.wake()


async def my_conversations(rt: Runtime, user: str) -> list[tuple[int, str, bool]]:
    """(id, member name, waiting for a reply) of the user's texted conversations."""
    async with rt.db.sessions() as session:
        owned = await assignments.owned(session, user, with_practice=True)
        found = []
        for conversation in owned:
            if conversation.member_id is None or conversation.state != "open":
                continue
            if conversation.initial_sent_at is None and conversation.last_inbound_at is None:
                continue
            member = await conversations.member_of(session, conversation)
            waiting = bool(
                conversation.last_inbound_at
                and (
                    conversation.last_outbound_at is None
                    or conversation.last_inbound_at > conversation.last_outbound_at
                )
            )
            found.append((conversation.id, member.full_name if member else "Member", waiting))
    return sorted(found, key=lambda row: (not row[2], row[1]))


async def script_names(rt: Runtime, conversation_id: int) -> list[str]:
    async with rt.db.sessions() as session:
        conversation = await conversations.get(session, conversation_id)
        if conversation is None:
            return []
        return list((await _spec(session, conversation)).scripts)


async def change(
    rt: Runtime, user: str, action: str, name: str, text: str | None, campaign: str | None
) -> str:
    """Organisers add, edit or remove a script; the campaign file stays the bulk way."""
    if not NAME.match(name):
        raise ScriptError("Script names are lower case letters, digits and _, e.g. `how_to_vote`.")
    now = rt.now()
    async with rt.db.transaction() as session:
        await require(session, rt, user, Role.ORGANISER)
        chosen = await resolve(session, campaign)
        config = dict(chosen.config or {})
        scripts = dict(config.get("scripts") or {})
        if action == "remove":
            if scripts.pop(name, None) is None:
                raise ScriptError(f"There is no script `{name}` to remove.")
        else:
            if not text:
                raise ScriptError(f"usage: /turnout scripts {action} NAME TEXT")
            if action == "add" and name in scripts:
                raise ScriptError(f"`{name}` exists already: use `/turnout scripts edit {name} …`.")
            if action == "edit" and name not in scripts:
                raise ScriptError(f"There is no script `{name}`: use `/turnout scripts add`.")
            scripts[name] = text
        config["scripts"] = scripts
        try:
            spec = CampaignSpec.from_config(chosen.slug, chosen.name, chosen.timezone, config)
        except CampaignFileError as problem:
            details = "; ".join(problem.problems)
            raise ScriptError(f"Not saved: {details}") from problem
        chosen.config = spec.to_config()
        chosen.updated_at = now
        await events.audit(
            session,
            actor=user,
            action=f"script_{action}",
            now=now,
            campaign=chosen.slug,
            script=name,
        )
    verb = {"add": "Added", "edit": "Updated", "remove": "Removed"}[action]
    return f"{verb} script `{name}` in {chosen.slug}."

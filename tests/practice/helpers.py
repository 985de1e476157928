"""What the practice tests share: a campaign with scripts and outcomes, a clock to
move, and ways to read what simulated members did in Slack."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.fakes.world import World
from bot.practice.personas import mobile_playing
from storage.models import Campaign, Conversation, Member, Message
from tests.helpers import Clock, click, home_button, rows

CAMPAIGN = """\
slug: pay-ballot
name: Pay ballot
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: 2021-11-04T12:00:00+00:00
data_protection: Members' data stays with the union.
initial: Hi {first_name}, it's {activist_first_name}. Have you posted your ballot yet?
scripts:
  voted: Brilliant, thank you {first_name}!
  replacement: I can ask for a new ballot paper. Is your address the one we hold?
outcomes:
  - {key: voted, label: Voted, script: voted}
  - {key: will_vote, label: Will vote}
  - {key: replacement, label: Needs replacement ballot, replacement_request: true}
  - {key: wrong_number, label: Wrong number, closes: true}
"""
# Live members on SMS_BACKEND=sandbox, with numbers that play set parts.
PARTS = ("voted", "replacement", "stop", "welsh", "unreachable", "wrong_number")
NAMES = ("Priya", "Tom", "Dan", "Rhys", "Ola", "Kim")
ROSTER = "first_name,last_name,phone,branch\n" + "".join(
    f"{name},Member,{mobile_playing(part)},Leeds\n" for name, part in zip(NAMES, PARTS, strict=True)
)


def later(clock: Clock, **delta: float) -> None:
    clock.at = clock.at + timedelta(**delta)


async def agree_and_send(world: World, user: str, times: int) -> None:
    """Agree to the terms shown on Home (if asked), then press Send next `times` times."""
    agree = home_button(world, user, AGREE_ACTION)
    if agree is not None:
        await click(world, user, AGREE_ACTION, agree)
    for _ in range(times):
        value = home_button(world, user, SEND_NEXT_ACTION)
        assert value is not None, "Home shows no Send next"
        await click(world, user, SEND_NEXT_ACTION, value)


async def inbound_bodies(world: World) -> dict[str, list[str]]:
    """Each member's texts as stored, by first name."""
    members = {m.id: m.first_name for m in await rows(world, Member)}
    found: dict[str, list[str]] = {}
    conversations = {c.id: c for c in await rows(world, Conversation)}
    for message in sorted(await rows(world, Message, direction="in"), key=lambda m: m.id):
        member_id = conversations[message.conversation_id].member_id
        found.setdefault(members.get(member_id or 0, "?"), []).append(message.body)
    return found


async def practice_campaign(world: World) -> Campaign:
    [campaign] = await rows(world, Campaign, practice=True)
    return campaign


def texts_in_thread(world: World, channel: str, ts: str) -> list[dict[str, Any]]:
    """The member's texts as posted in their thread (not the card, not the activist's)."""
    return [
        post
        for post in world.slack.thread(channel, ts)[1:]
        if any(
            "texted:" in e.get("text", "")
            for b in post.get("blocks") or []
            if b["type"] == "context"
            for e in b.get("elements") or []
        )
    ]


def post_text(post: dict[str, Any]) -> str:
    """Everything a person reads in a post: fallback text and every block's text."""
    parts = [post.get("text") or ""]
    for block in post.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"].get("text", ""))
        for element in block.get("elements") or []:
            text = element.get("text")
            parts.append(text.get("text", "") if isinstance(text, dict) else str(text or ""))
        for field in block.get("fields") or []:
            parts.append(field.get("text", ""))
    return "\n".join(parts)

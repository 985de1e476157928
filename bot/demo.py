"""`turnout demo`: the whole loop, offline, in well under a minute.

A member texts in; nobody owns the conversation, so a Claim card appears in
the support channel; an activist claims it and the thread opens in their DM
with the history; the activist answers; the SMS leaves through the real
Twilio client to a local fake; Twilio reports it delivered; the member
texts again, straight into the thread. Both sides are printed.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.blocks import CLAIM_ACTION
from bot.fakes.world import SUPPORT_CHANNEL, World
from storage import conversations
from storage.models import Campaign, Member

MEMBER_PHONE = "+447400123456"
ACTIVIST = "U0ALICE"


async def run_demo(database_url: str | None = None) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="turnout-demo-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        world = await World.start(url)
        try:
            await _story(world)
        finally:
            await world.stop()
    return 0


async def _story(world: World) -> None:
    _say("Turnout demo: fake Slack and fake Twilio on this machine; nothing leaves it.\n")
    world.slack.add_user(ACTIVIST, "Alice Organiser", display_name="Alice")
    await _seed_member(world)

    await world.member_texts(MEMBER_PHONE, "Hi, I never got my ballot paper. Can you help?")
    await world.drain()
    card = world.slack.messages(SUPPORT_CHANNEL)[-1]
    _show("support channel", card)

    await world.click(
        ACTIVIST,
        CLAIM_ACTION,
        _claim_value(card),
        channel_id=SUPPORT_CHANNEL,
        message_ts=card["ts"],
    )
    await world.drain()
    dm = world.slack.dm_channel(ACTIVIST)
    parent = world.slack.messages(dm)[0]
    _say("Alice clicked Claim; the conversation opened in her DM:")
    for message in world.slack.thread(dm, parent["ts"]):
        _show("Alice's DM", message)

    await world.activist_writes(
        ACTIVIST,
        dm,
        parent["ts"],
        "Hi Sam, it's Alice from the Leeds branch. I'll request a replacement ballot &amp; "
        "it should arrive within 5 days: <https://union.example.org/ballot|details here>",
    )
    await world.drain()
    for sms in world.twilio.messages:
        _say(f"  [SMS to {sms['to']}] {sms['body']}")
    await world.deliver_all("delivered")
    await world.drain()
    mine = world.slack.thread(dm, parent["ts"])[-1]
    reactions = ", ".join(r["name"] for r in mine.get("reactions", [])) or "none"
    _say(f"Twilio reported it delivered; Alice's message now shows: {reactions}\n")

    await world.member_texts(MEMBER_PHONE, "Thank you so much! <!channel> yes same address")
    await world.drain()
    _show("Alice's DM", world.slack.thread(dm, parent["ts"])[-1])
    _say("\nTranscript, member's side:")
    for line in _member_side(world):
        _say(f"  {line}")
    _say("\nDone: inbound, claim, thread, reply, SMS, delivery, and back again.")


async def _seed_member(world: World) -> None:
    now = datetime.now(UTC)
    async with world.rt.db.transaction() as session:
        campaign = Campaign(
            slug="demo",
            name="Demo ballot",
            state="active",
            config={},
            created_at=now,
            updated_at=now,
        )
        session.add(campaign)
        await session.flush()
        session.add(
            Member(
                campaign_id=campaign.id,
                phone=MEMBER_PHONE,
                first_name="Sam",
                last_name="Jones",
                branch="Leeds",
                fields={},
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        assert await conversations.member_by_phone(session, MEMBER_PHONE) is not None


def _claim_value(card: dict[str, object]) -> str:
    for block in card.get("blocks") or []:  # type: ignore[attr-defined]
        for element in block.get("elements", []):
            if element.get("action_id") == CLAIM_ACTION:
                return str(element["value"])
    raise RuntimeError("the support card has no Claim button")


def _member_side(world: World) -> list[str]:
    lines = []
    for request in world.twilio.requests:
        form = request.get("form") or {}
        if request.get("method") == "POST" and "Body" in form:
            lines.append(f"Turnout -> {form.get('To')}: {form['Body']}")
    inbound = [f"{MEMBER_PHONE} -> Turnout: (see the thread above)"]
    return inbound + lines


def _show(where: str, message: dict[str, object]) -> None:
    text = (
        str(message.get("text", "")).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    _say(f"  [{where}] {text}")


def _say(line: str) -> None:
    print(line, flush=True)

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
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.bridge.blocks import CLAIM_ACTION
from bot.campaigns import lifecycle
from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.fakes.world import ADMIN, SUPPORT_CHANNEL, World
from bot.roster import members

MEMBER_PHONE = "+447400123456"
DEMO_CAMPAIGN = """\
slug: demo
name: Demo ballot
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: 2099-11-04T12:00:00+00:00
data_protection: >
  You are handling members' personal data on the union's behalf. Use it
  only for this ballot and share it with nobody.
initial: Hi {first_name}, it's {activist_first_name} from {branch}. Have you voted yet?
"""
ACTIVIST = "U0ALICE"
BATCH = [
    ("Priya", "Patel", "07400 100002"),
    ("Tom", "Evans", "+44 7400 100003"),
    ("Zoë", "Smith", "447400100004"),
]


async def run_demo(database_url: str | None = None) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="turnout-demo-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        world = await World.start(url, clock=_midday_clock())
        try:
            await _story(world)
            await _batch(world)
        finally:
            await world.stop()
    return 0


async def _story(world: World) -> None:
    _say("Turnout demo: the real app, with fake Slack and fake Twilio on this machine.")
    _say("Nothing leaves it. PHONE is the member's phone; SLACK is what activists see.\n")
    world.slack.add_user(ACTIVIST, "Alice Organiser", display_name="Alice")
    await _seed_member(world)

    first = "Hi, I never got my ballot paper. Can you help?"
    _phone(f"Sam texts: {first}")
    await world.member_texts(MEMBER_PHONE, first)
    await world.drain()
    card = world.slack.messages(SUPPORT_CHANNEL)[-1]
    _slack("#support", f"{_plain(card['text'])}  [Claim]")

    await _claim(world, card)
    gate = world.slack.ephemerals(ACTIVIST)[-1]
    _slack("#support", f"only Alice sees: {gate['text']}  [I agree]")
    await world.click(ACTIVIST, AGREE_ACTION, _button_value(gate, AGREE_ACTION))
    _slack("#support", "Alice agrees to the data-protection terms and claims again")
    await _claim(world, card)
    dm = world.slack.dm_channel(ACTIVIST)
    parent = world.slack.messages(dm)[0]
    _slack("#support", _plain(world.slack.messages(SUPPORT_CHANNEL)[-1]["text"]))
    _slack("Alice's DM", f"new thread: {_plain(parent['text'])}")
    for message in world.slack.thread(dm, parent["ts"])[1:]:
        _slack("  thread", _plain(message["text"]).replace("\n", " / "))

    answer = (
        "Hi Sam, it's Alice from the Leeds branch. I'll request a replacement ballot &amp; "
        "it should arrive within 5 days: <https://union.example.org/ballot|details here>"
    )
    _slack("  thread", f"Alice writes: {_plain(answer)}")
    await world.activist_writes(ACTIVIST, dm, parent["ts"], answer)
    await world.drain()
    for sms in world.twilio.messages:
        _phone(f"Sam receives: {sms['body']}")
    await world.deliver_all("delivered")
    await world.drain()
    mine = next(m for m in world.slack.thread(dm, parent["ts"]) if m.get("user") == ACTIVIST)
    reactions = ", ".join(f":{r['name']}:" for r in mine.get("reactions", [])) or "none"
    _slack("  thread", f"Twilio reports delivered; Alice's message shows {reactions}")

    again = "Thank you so much! <!channel> yes same address"
    _phone(f"Sam texts: {again}")
    await world.member_texts(MEMBER_PHONE, again)
    await world.drain()
    last = world.slack.thread(dm, parent["ts"])[-1]
    _slack("  thread", _plain(last["text"]))
    pinged = [t for t in world.slack.live_tokens(last["text"]) if t != f"<@{ACTIVIST}>"]
    _say(
        "\nSam's <!channel> arrived as the characters typed: "
        + ("it pinged nobody." if not pinged else f"LIVE TOKENS {pinged}")
    )
    _say("Done: text in, Claim, thread, reply, SMS out, delivery report, and back again.\n")


async def _batch(world: World) -> None:
    _say("An organiser hands Alice a batch; she texts it one click per member.\n")
    roster = "first_name,last_name,phone,branch\n" + "".join(
        f"{first},{last},{phone},Leeds\n" for first, last, phone in BATCH
    )
    report = await members.import_roster(world.rt.db, "demo", roster, region="GB", now=world.now())
    _say(f"TURNOUT  members import: {report.created} new members")
    url = world.service.url + "/slack/events"
    _, reply = await world.slack.send_command(
        url, user_id=ADMIN, text=f"assign <@{ACTIVIST}|alice> {len(BATCH)} branch:Leeds"
    )
    _slack("organiser", f"/turnout assign @alice {len(BATCH)} branch:Leeds -> {reply}")
    await world.drain()
    for _ in BATCH:
        value = _home_button(world, SEND_NEXT_ACTION)
        _slack("Alice's Home", "presses Send next")
        await world.click(ACTIVIST, SEND_NEXT_ACTION, value)
        await world.drain()
    for sms in world.twilio.messages[-len(BATCH) :]:
        _phone(f"{sms['to']} receives: {sms['body']}")
    _, reply = await world.slack.send_command(url, user_id=ACTIVIST, text="next")
    _slack("Alice", f"/turnout next -> {reply}")
    _say("Done: a batch assigned and texted, one click each, each in its own thread.")


def _home_button(world: World, action_id: str) -> str:
    view = world.slack.home_view(ACTIVIST) or {}
    return _button_value(view, action_id)


def _midday_clock() -> Callable[[], datetime]:
    """Today at noon in London, running on: the demo is inside texting hours whenever run."""
    start = time.monotonic()
    noon = datetime.now(ZoneInfo("Europe/London")).replace(hour=12, minute=0, second=0)
    return lambda: (noon + timedelta(seconds=time.monotonic() - start)).astimezone(UTC)


async def _claim(world: World, card: dict[str, object]) -> None:
    await world.click(
        ACTIVIST,
        CLAIM_ACTION,
        _claim_value(card),
        channel_id=SUPPORT_CHANNEL,
        message_ts=str(card["ts"]),
    )
    await world.drain()


async def _seed_member(world: World) -> None:
    """The campaign and the one-member roster an organiser would load."""
    with tempfile.TemporaryDirectory(prefix="turnout-demo-") as tmp:
        path = Path(tmp) / "campaign.yml"
        path.write_text(DEMO_CAMPAIGN, encoding="utf-8")
        await lifecycle.load_campaign(world.rt.db, path, world.now())
    await lifecycle.set_state(world.rt.db, "demo", "active", world.now())
    roster = f"first_name,last_name,phone,branch\nSam,Jones,{MEMBER_PHONE},Leeds\n"
    await members.import_roster(world.rt.db, "demo", roster, region="GB", now=world.now())


def _claim_value(card: dict[str, object]) -> str:
    return _button_value(card, CLAIM_ACTION)


def _button_value(message: dict[str, object], action_id: str) -> str:
    for block in message.get("blocks") or []:  # type: ignore[attr-defined]
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise RuntimeError(f"the message has no {action_id} button")


def _plain(text: str) -> str:
    """Slack's wire text as a person reads it."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _phone(line: str) -> None:
    _say(f"PHONE  {line}")


def _slack(where: str, line: str) -> None:
    _say(f"SLACK  {where}: {line}")


def _say(line: str) -> None:
    print(line, flush=True)

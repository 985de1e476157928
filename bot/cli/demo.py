"""`turnout demo`: a short campaign, offline, in well under a minute.

The real app runs with `SMS_BACKEND=sandbox` on a throwaway SQLite file,
behind a local fake of Slack: an organiser loads a campaign, imports five
members and hands them to Alice; she agrees to the data-protection terms
and texts them one click each; the simulated members answer (one has
voted, one never got a ballot, one asks a question, one answers in Welsh,
one texts STOP); Alice takes a suggestion, sends a script, records an
outcome, asks for a replacement ballot and answers a question in her
thread; the daily digest reaches the coordinators. What each side saw is
printed: PHONE for the members' phones, SLACK for what people see in Slack.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.bridge.card_actions import SUGGESTED_OUTCOME_ACTION, SUGGESTED_SCRIPT_ACTION
from bot.campaigns import lifecycle
from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.fakes.world import ADMIN, SUPPORT_CHANNEL, World
from bot.phones import mask
from bot.practice.personas import mobile_playing
from bot.roster import members
from bot.scripts.replacement_modal import ADDRESS_ACTION, ADDRESS_BLOCK
from bot.sweeps.runner import run_sweep
from storage.models import Conversation, Member, Message, ReplacementRequest, SimulatedEvent

DEMO_CAMPAIGN = """\
slug: demo
name: Demo ballot
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: {closes}
data_protection: >
  You are handling members' personal data on the union's behalf. Use it
  only for this ballot and share it with nobody.
initial: Hi {first_name}, it's {activist_first_name} from {branch}. Have you posted your ballot yet?
scripts:
  voted: Brilliant, thank you {first_name}! Could you remind a colleague to post theirs?
  replacement: No problem, I'll ask for a new ballot paper. Is your address the one we hold?
  how_to_vote: Fill in the paper and post it in the prepaid envelope before {ballot_closes_date}.
outcomes:
  - {key: voted, label: Voted, script: voted}
  - {key: will_vote, label: Will vote, script: how_to_vote}
  - key: replacement
    label: Needs replacement ballot
    replacement_request: true
    script: replacement
  - {key: wrong_number, label: Wrong number, closes: true}
"""
ACTIVIST = "U0ALICE"
# Who the five members are; their numbers are picked so the simulator plays these parts.
CAST = [
    ("Priya", "Patel", "voted"),
    ("Tom", "Evans", "replacement"),
    ("Zoë", "Smith", "question"),
    ("Rhys", "Jones", "welsh"),
    ("Dan", "Moss", "stop"),
]
# Simulated members answer within a second or two here; SIMULATED_REPLY_SECONDS in a real run.
REPLY_SECONDS = "0.5-1.5"
ANSWER = (
    "Good question! The pay offer is 2% against 7% inflation; a yes vote tells the employer "
    "we mean it. Anything else?"
)


async def run_demo(database_url: str | None = None) -> int:
    logging.getLogger().setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="turnout-demo-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        world = await World.start(
            url,
            clock=_midday_clock(),
            sms_backend="sandbox",
            simulated_reply_seconds=REPLY_SECONDS,
        )
        try:
            await _organiser(world, Path(tmp))
            await _send_batch(world)
            await _replies(world)
            await _digest(world)
            _say(
                f"\nTwilio received {len(world.twilio.messages)} texts: every one went to a "
                "simulated phone. Practise like this in a real workspace with "
                "`/turnout practice`, or run a whole campaign on SMS_BACKEND=sandbox."
            )
        finally:
            await world.stop()
    return 0


async def _organiser(world: World, tmp: Path) -> None:
    _say("Turnout demo: the real app with simulated members (SMS_BACKEND=sandbox) and a")
    _say("fake Slack, on this machine. PHONE is what members' phones got; SLACK is what")
    _say("people saw in Slack. Nothing leaves the machine.\n")
    world.slack.add_user(ACTIVIST, "Alice Organiser", display_name="Alice")
    path = tmp / "demo.yml"
    # The ballot closes a fortnight from whenever the demo runs.
    closes = (world.now() + timedelta(days=14)).replace(hour=12, minute=0, second=0)
    path.write_text(DEMO_CAMPAIGN.replace("{closes}", closes.isoformat()), encoding="utf-8")
    loaded = await lifecycle.load_campaign(world.rt.db, path, world.now())
    await lifecycle.set_state(world.rt.db, "demo", "active", world.now())
    _say(
        f"ORGANISER  turnout campaign load demo.yml: {loaded.spec.name}, "
        f"{len(loaded.spec.scripts)} scripts, {len(loaded.spec.outcomes)} outcomes; started"
    )
    roster = "first_name,last_name,phone,branch\n" + "".join(
        f"{first},{last},{mobile_playing(part)},Leeds\n" for first, last, part in CAST
    )
    report = await members.import_roster(world.rt.db, "demo", roster, region="GB", now=world.now())
    _say(f"ORGANISER  turnout members import members.csv: {report.created} new members")
    _, reply = await world.slack.send_command(
        world.service.url + "/slack/events",
        user_id=ADMIN,
        text=f"assign <@{ACTIVIST}|alice> {len(CAST)} branch:Leeds",
    )
    _slack("organiser", f"/turnout assign @alice {len(CAST)} branch:Leeds -> {reply}")
    await world.drain()
    dm = world.slack.messages(world.slack.dm_channel(ACTIVIST))
    _slack("Alice's DM", _plain(dm[-1]["text"]))


async def _send_batch(world: World) -> None:
    gate = world.slack.home_view(ACTIVIST) or {}
    header = [b["text"]["text"] for b in gate["blocks"] if b["type"] == "header"][-1]
    _slack("Alice's Home", f"{header}  [I agree]")
    await world.click(ACTIVIST, AGREE_ACTION, _value(gate, AGREE_ACTION))
    await world.drain()
    for _ in CAST:
        await world.click(ACTIVIST, SEND_NEXT_ACTION, _home_button(world, SEND_NEXT_ACTION))
        await world.drain()
    _slack("Alice's Home", f"presses Send next {len(CAST)} times, one text a click")
    for member, text in await _texts_out(world):
        _phone(f"{member} receives: {text}")


async def _replies(world: World) -> None:
    _say("\nThe members answer, as people do, a little later:")
    await _members_answer(world, replies=len(CAST))
    threads = await _threads(world)
    shown: set[str] = set()
    _show_replies(world, threads, shown)

    voted = _last_post(world, threads["Priya Patel"])
    await world.click(ACTIVIST, SUGGESTED_OUTCOME_ACTION, _value(voted, SUGGESTED_OUTCOME_ACTION))
    await world.click(ACTIVIST, SUGGESTED_SCRIPT_ACTION, _value(voted, SUGGESTED_SCRIPT_ACTION))
    await world.drain()
    _slack(
        "  Priya", f"Alice clicks Record, then Send ;voted. Card: {_card(world, threads, 'Priya')}"
    )

    welsh = _last_post(world, threads["Rhys Jones"])
    await world.click(ACTIVIST, SUGGESTED_OUTCOME_ACTION, _value(welsh, SUGGESTED_OUTCOME_ACTION))
    await world.drain()
    _slack("  Rhys", f"Alice records the suggestion. Card: {_card(world, threads, 'Rhys')}")

    await _replacement(world, threads)

    channel, ts = threads["Zoë Smith"]
    _slack("  Zoë", f"Alice writes in the thread: {ANSWER}")
    await world.activist_writes(ACTIVIST, channel, ts, ANSWER)
    await world.drain()
    _slack("  Dan", f"Card: {_card(world, threads, 'Dan')}; Send next skips him for good")

    _say("\nWhat the phones got after the first text:")
    for member, text in (await _texts_out(world))[len(CAST) :]:
        _phone(f"{member} receives: {text}")
    # Priya, Tom and Zoë answer those texts.
    await _members_answer(world, replies=len(CAST) + 3)
    _show_replies(world, threads, shown)


def _show_replies(world: World, threads: dict[str, tuple[str, str]], shown: set[str]) -> None:
    for name, (channel, ts) in threads.items():
        for post in world.slack.thread(channel, ts)[1:]:
            if post["ts"] in shown or "texted:" not in _context(post):
                continue
            shown.add(post["ts"])
            first = name.split()[0]
            _phone(f"{first} texts: {_body(post)}")
            _slack(f"  {first}'s thread", f"{_body(post)}{_suggested(post)}")


def _card(world: World, threads: dict[str, tuple[str, str]], first: str) -> str:
    name = next(n for n in threads if n.split()[0] == first)
    return _card_status(world.slack.thread(*threads[name])[0])


async def _replacement(world: World, threads: dict[str, tuple[str, str]]) -> None:
    post = _last_post(world, threads["Tom Evans"])
    await world.click(ACTIVIST, SUGGESTED_OUTCOME_ACTION, _value(post, SUGGESTED_OUTCOME_ACTION))
    await world.drain()
    modal = world.slack.modal(list(world.slack.workspace.modals)[-1]) or {}
    _slack("  Tom", f"Alice clicks Record: a window opens, {modal['title']['text']!r}")
    await world.slack.send_view_submission(
        world.service.url + "/slack/events",
        user_id=ACTIVIST,
        callback_id=modal["callback_id"],
        private_metadata=modal["private_metadata"],
        values={
            ADDRESS_BLOCK: {
                ADDRESS_ACTION: {"type": "radio_buttons", "selected_option": {"value": "same"}}
            }
        },
    )
    await world.click(ACTIVIST, SUGGESTED_SCRIPT_ACTION, _value(post, SUGGESTED_SCRIPT_ACTION))
    await world.drain()
    async with world.rt.db.sessions() as session:
        requests = len((await session.execute(select(ReplacementRequest.id))).all())
    _slack(
        "  Tom",
        f"she keeps the address we hold and sends ;replacement: {requests} replacement "
        f"request for the office (`/turnout export replacements`). "
        f"Card: {_card(world, threads, 'Tom')}",
    )


async def _digest(world: World) -> None:
    evening = world.now().astimezone(ZoneInfo("Europe/London")).replace(hour=18, minute=5)
    summary = await run_sweep(world.rt, "digest", evening.astimezone(UTC), holder="demo")
    await world.drain()
    _say(f"\nTURNOUT  the daily digest at 18:05: {summary}")
    post = world.slack.messages(SUPPORT_CHANNEL)[-1]
    for line in _plain(post["text"]).splitlines():
        _slack("#support", line)


async def _members_answer(world: World, *, replies: int) -> None:
    """Let the simulated members act, in real time, until `replies` texts are in."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await world.service.simulator.run_due()
        await world.drain()
        async with world.rt.db.sessions() as session:
            got = await session.execute(select(Message.id).where(Message.direction == "in"))
            if len(got.all()) >= replies:
                return
        await asyncio.sleep(0.2)
    raise TimeoutError("the simulated members did not answer")


async def _threads(world: World) -> dict[str, tuple[str, str]]:
    async with world.rt.db.sessions() as session:
        result = await session.execute(
            select(Member, Conversation).join(Conversation, Conversation.member_id == Member.id)
        )
        return {
            m.full_name: (c.dm_channel, c.thread_ts)
            for m, c in result.all()
            if c.dm_channel and c.thread_ts
        }


async def _texts_out(world: World) -> list[tuple[str, str]]:
    """(member, text) of everything the simulated phones got, in order."""
    async with world.rt.db.sessions() as session:
        names = {m.phone: m.first_name for m in (await session.execute(select(Member))).scalars()}
        got = await session.execute(
            select(SimulatedEvent).where(SimulatedEvent.kind == "text").order_by(SimulatedEvent.id)
        )
        return [(f"{names.get(e.phone, '?')} ({mask(e.phone)})", e.body) for e in got.scalars()]


def _last_post(world: World, thread: tuple[str, str]) -> dict[str, Any]:
    return world.slack.thread(*thread)[-1]


def _card_status(card: dict[str, Any]) -> str:
    facts = [
        f["text"]
        for b in card.get("blocks") or []
        for f in b.get("fields") or []
        if f["text"].startswith(("*Status:*", "*Outcome:*"))
    ]
    return " · ".join(_plain(f).replace("*", "") for f in facts)


def _context(post: dict[str, Any]) -> str:
    return " ".join(
        e.get("text", "")
        for b in post.get("blocks") or []
        if b["type"] == "context"
        for e in b.get("elements") or []
    )


def _body(post: dict[str, Any]) -> str:
    return next((b["text"]["text"] for b in post.get("blocks") or [] if b["type"] == "section"), "")


def _suggested(post: dict[str, Any]) -> str:
    buttons = [
        e["text"]["text"]
        for b in post.get("blocks") or []
        if b["type"] == "actions"
        for e in b.get("elements") or []
    ]
    if not buttons:
        return ""
    label = _context(post).split("Looks like: ")[-1]
    return f"  · Looks like {label} [{'] ['.join(buttons)}]"


def _home_button(world: World, action_id: str) -> str:
    return _value(world.slack.home_view(ACTIVIST) or {}, action_id)


def _midday_clock() -> Callable[[], datetime]:
    """Today at noon in London, running on: the demo is inside texting hours whenever run."""
    start = time.monotonic()
    noon = datetime.now(ZoneInfo("Europe/London")).replace(hour=12, minute=0, second=0)
    return lambda: (noon + timedelta(seconds=time.monotonic() - start)).astimezone(UTC)


def _value(message: dict[str, Any], action_id: str) -> str:
    for block in message.get("blocks") or []:
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

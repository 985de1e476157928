"""Setting up the state a test starts from, and driving Turnout as people do.

Through the storage layer: a bare member, an owned conversation, a started
thread. Through the product: a campaign world (a campaign loaded, made active
and its roster imported), slash commands and clicks, and the `turnout` command
line run as a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.campaigns import lifecycle
from bot.fakes.world import World
from bot.roster import members
from storage import conversations
from storage.models import Agreement, Base, Campaign, Conversation, Member

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

ALICE = "U0ALICE"
BOB = "U0BOB"
SAM_PHONE = "+447400123456"

# Slack users as (user id, real name, display name).
SlackUser = tuple[str, str, str | None]
ALICE_USER: SlackUser = (ALICE, "Alice Activist", "Alice")
BOB_USER: SlackUser = (BOB, "Bob Builder", "Bob")
ACTIVISTS = (ALICE_USER, BOB_USER)
T0 = datetime(2021, 11, 1, 10, 0, tzinfo=UTC)  # a Monday, 10:00 in London (GMT)


async def add_member(
    world: World,
    phone: str = SAM_PHONE,
    *,
    first: str = "Sam",
    last: str = "Jones",
    branch: str = "Leeds",
    agreed: tuple[str, ...] = (ALICE, BOB),
) -> Member:
    """A member of a bare campaign whose terms `agreed` have already accepted."""
    now = datetime.now(UTC)
    async with world.rt.db.transaction() as session:
        campaign = (await session.execute(select(Campaign).limit(1))).scalar_one_or_none()
        if campaign is None:
            campaign = Campaign(
                slug="test",
                name="Test ballot",
                state="active",
                config={"data_protection": "Keep members' data safe."},
                created_at=now,
                updated_at=now,
            )
            session.add(campaign)
            await session.flush()
            for user in agreed:
                session.add(Agreement(user_id=user, campaign_id=campaign.id, agreed_at=now))
        member = Member(
            campaign_id=campaign.id,
            phone=phone,
            first_name=first,
            last_name=last,
            branch=branch,
            fields={},
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        await session.flush()
        return member


async def owned_conversation(world: World, phone: str = SAM_PHONE, owner: str = ALICE) -> int:
    """A member whose conversation `owner` holds (as after an assignment)."""
    member = await add_member(world, phone)
    async with world.rt.db.transaction() as session:
        conversation = await conversations.create(
            session, phone=phone, now=datetime.now(UTC), member=member, owner_id=owner
        )
        return conversation.id


async def thread_for(world: World, conversation_id: int) -> tuple[str, str]:
    async with world.rt.db.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.thread_ts and conversation.dm_channel
        return conversation.dm_channel, conversation.thread_ts


async def started_thread(
    world: World, phone: str = SAM_PHONE, owner: str = ALICE
) -> tuple[str, str]:
    """An owned conversation whose member has texted once, so the thread exists."""
    conversation_id = await owned_conversation(world, phone, owner)
    status, _ = await world.member_texts(phone, "Hello?")
    assert status == 200
    await world.drain()
    return await thread_for(world, conversation_id)


async def count(world: World, model: type[Base], **where: Any) -> int:
    async with world.rt.db.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int((await session.execute(query)).scalar_one())


async def rows(world: World, model: type[Base], **where: Any) -> list[Any]:
    async with world.rt.db.sessions() as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list((await session.execute(query)).scalars())


# -- a campaign world -------------------------------------------------------------------


class Clock:
    """A clock that stands still until a test moves it (`clock.at = ...`)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@asynccontextmanager
async def campaign_world(
    database_url: str,
    tmp_path: Path,
    campaign: str,
    *,
    roster: str | bytes | None = None,
    users: Iterable[SlackUser] = (),
    clock: Callable[[], datetime] | None = None,
    imported: int | None = None,
    slug: str = "pay-ballot",
    **settings: Any,
) -> AsyncIterator[World]:
    """A Turnout on fakes with `campaign` (a campaign file's text) loaded and active.

    The world's clock is `clock` (a `Clock` at `T0` unless given); `users` are added
    to the fake Slack first, and `roster` (CSV) is imported last, when given: if
    `imported` is given, that many members must be created by it. `settings`
    override the world's (e.g. sms_backend="sandbox").
    """
    clock = clock or Clock(T0)
    world = await World.start(database_url, clock=clock, **settings)
    try:
        for user_id, real_name, display_name in users:
            world.slack.add_user(user_id, real_name, display_name=display_name)
        path = tmp_path / "campaign.yml"
        path.write_text(campaign, encoding="utf-8")
        await lifecycle.load_campaign(world.rt.db, path, clock())
        await lifecycle.set_state(world.rt.db, slug, "active", clock())
        if roster is not None:
            report = await members.import_roster(
                world.rt.db, slug, roster, region="GB", now=clock()
            )
            if imported is not None:
                assert report.created == imported
        yield world
    finally:
        await world.stop()


async def command(world: World, user: str, text: str, *, drain_timeout: float = 30.0) -> str:
    """`/turnout <text>` from `user`, signed; returns the app's reply once the work is done."""
    status, body = await world.slack.send_command(
        world.service.url + "/slack/events", user_id=user, text=text
    )
    assert status == 200
    await world.drain(drain_timeout)
    # Bolt answers a plain text ack as text/plain, one with blocks as JSON.
    return str(json.loads(body)["text"]) if body.startswith("{") else body


def home_button(world: World, user: str, action_id: str) -> str | None:
    """The value of the `action_id` button on the user's App Home, if it shows one."""
    view = world.slack.home_view(user) or {}
    for block in view.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    return None


async def click(world: World, user: str, action_id: str, value: str) -> None:
    status, _ = await world.click(user, action_id, value)
    assert status == 200
    await world.drain()


async def click_home(world: World, user: str, action_id: str) -> None:
    """Click the one `action_id` button on the user's App Home."""
    view = world.slack.home_view(user) or {}
    [value] = [
        str(element["value"])
        for block in view.get("blocks", [])
        for element in block.get("elements", [])
        if element.get("action_id") == action_id
    ]
    await click(world, user, action_id, value)


# -- the command line -------------------------------------------------------------------

Turnout = Callable[..., subprocess.CompletedProcess[str]]


def run_turnout(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: Any = subprocess.DEVNULL,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot.cli ARGS` in `cwd` as an admin would, in a real process.

    The environment is this one without its SLACK_* and TWILIO_* settings, with
    the project on PYTHONPATH, and `env` on top; `input` is written to stdin
    (otherwise stdin is `stdin`, /dev/null unless given).
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TWILIO_"))}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=clean,
        stdin=None if input is not None else stdin,
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )

"""The daily digest: once a day at the campaign's hour, figures per branch and a chart."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.campaigns import lifecycle
from bot.fakes.world import SUPPORT_CHANNEL, World
from bot.sweeps import digest
from bot.sweeps.digest_chart import render_chart
from bot.sweeps.digest_post import Counts, Digest, render
from storage.models import Campaign, Conversation, Member, Message, OptOut, ReplacementRequest
from tests.helpers import Clock, campaign_world

CAMPAIGN = """\
slug: pay-ballot
name: Pay ballot
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: 2021-11-04T12:00:00+00:00
turnout_threshold: 0.5
digest_at: "18:00"
data_protection: Keep members' data safe.
initial: Hi {first_name}, have you posted your ballot yet?
outcomes:
  - {key: voted, label: Voted}
  - {key: replacement, label: Needs replacement ballot, replacement_request: true}
"""

# Leeds 1 of 4 voted (25%), York 2 of 4 (50%: at the threshold), Bath 2 of 2 (100%).
BRANCHES = {"Leeds": (4, 1), "York": (4, 2), "Bath": (2, 2)}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MONDAY = datetime(2021, 11, 1, tzinfo=UTC)  # London is on GMT (UTC+0) that week


def roster() -> str:
    lines = ["first_name,last_name,phone,branch"]
    n = 0
    for branch, (count, _) in BRANCHES.items():
        for _ in range(count):
            n += 1
            lines.append(f"M{n},{branch},07400 2000{n:02d},{branch}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY)


@pytest.fixture
async def world(database_url: str, clock: Clock, tmp_path: Path) -> AsyncIterator[World]:
    async with campaign_world(
        database_url, tmp_path, CAMPAIGN, roster=roster(), clock=clock, imported=10
    ) as w:
        await _outcomes_texts_and_requests(w)
        yield w


async def _outcomes_texts_and_requests(world: World) -> None:
    """Conversations (with "voted" where BRANCHES says), texts, an opt-out, requests."""
    now = MONDAY
    async with world.rt.db.transaction() as session:
        campaign = (await session.execute(select(Campaign))).scalar_one()
        roster_members = (await session.execute(select(Member).order_by(Member.id))).scalars()
        voted_left = {branch: voted for branch, (_, voted) in BRANCHES.items()}
        leeds: list[Conversation] = []
        for member in roster_members:
            voted = voted_left[member.branch] > 0
            voted_left[member.branch] -= voted
            conversation = Conversation(
                phone=member.phone,
                campaign_id=campaign.id,
                member_id=member.id,
                owner_id="U0ALICE",
                state="open",
                outcome="voted" if voted else None,
                initial_sent_at=now if member.branch == "Leeds" else None,
                created_at=now,
                updated_at=now,
            )
            session.add(conversation)
            if member.branch == "Leeds":
                leeds.append(conversation)
        await session.flush()
        # Every Leeds member texted: three delivered, one failed; two replied.
        for i, conversation in enumerate(leeds):
            status = "failed" if i == 3 else "delivered"
            session.add(_message(conversation, "out", status, now))
            if i < 2:
                session.add(_message(conversation, "in", "received", now))
        session.add(OptOut(phone=leeds[3].phone, source="keyword", created_at=now))
        for i, conversation in enumerate(leeds[:3]):
            session.add(
                ReplacementRequest(
                    campaign_id=campaign.id,
                    conversation_id=conversation.id,
                    member_id=conversation.member_id,
                    requested_by="U0ALICE",
                    created_at=now,
                    processed_at=now if i == 0 else None,
                    processed_by="U0ORG" if i == 0 else None,
                )
            )


def _message(conversation: Conversation, direction: str, status: str, now: datetime) -> Message:
    return Message(
        conversation_id=conversation.id,
        direction=direction,
        kind="initial" if direction == "out" else "inbound",
        body="Hi",
        status=status,
        created_at=now,
        updated_at=now,
    )


async def sweep(world: World, at: datetime) -> str:
    summary = await digest.run(world.rt, at)
    await world.drain()
    return summary


def digests(world: World) -> list[str]:
    return [m["text"] for m in world.slack.messages(SUPPORT_CHANNEL)]


async def test_one_digest_a_day_after_its_hour(world: World) -> None:
    assert await sweep(world, MONDAY.replace(hour=17, minute=59)) == "digest: nothing due"
    assert digests(world) == [] and world.slack.uploads == []

    assert await sweep(world, MONDAY.replace(hour=18, minute=5)) == "digest: queued for pay-ballot"
    [text] = digests(world)
    assert "Daily digest: Pay ballot, Monday 1 November" in text
    assert "5 of 10 members (50.0%) against the 50% threshold: reached" in text
    assert "3 days left:* the ballot closes Thursday 4 November at 12:00" in text
    assert "*Texts:* 4 sent · 3 delivered · 1 failed" in text
    assert "*Replies:* 2 from 2 members · 50% response rate (4 members texted)" in text
    assert "*Opt-outs:* 1" in text
    assert "*Replacement ballots:* 2 open · 1 processed" in text
    branch_lines = re.findall(r"^• \*(\w+)\*: (\d+%) \((\d+/\d+)\)", text, flags=re.M)
    assert branch_lines == [
        ("Leeds", "25%", "1/4"),
        ("York", "50%", "2/4"),
        ("Bath", "100%", "2/2"),
    ]
    below, above = text.split("*At or above the threshold*")
    assert "*Below the 50% threshold* (1 branch)" in below and "Leeds" in below
    assert "York" in above and "Bath" in above
    [message] = world.slack.messages(SUPPORT_CHANNEL)
    shown = "\n".join(b["text"]["text"] for b in message["blocks"] if b.get("text"))
    assert "• *Leeds*: 25% (1/4)" in shown  # the blocks carry what the fallback does

    [upload] = world.slack.uploads
    assert upload["channel_id"] == SUPPORT_CHANNEL
    assert upload["filename"] == "turnout-pay-ballot-2021-11-01.png"
    assert upload["content"].startswith(PNG_SIGNATURE)
    image = pytest.importorskip("PIL.Image")
    with image.open(io.BytesIO(upload["content"])) as png:
        png.verify()

    # Again the same evening (a second sweep, a restart): nothing more.
    assert await sweep(world, MONDAY.replace(hour=23, minute=59)) == "digest: nothing due"
    assert len(digests(world)) == 1 and len(world.slack.uploads) == 1

    tuesday = MONDAY + timedelta(days=1, hours=18, minutes=30)
    assert await sweep(world, tuesday) == "digest: queued for pay-ballot"
    assert len(digests(world)) == 2 and len(world.slack.uploads) == 2
    assert "2 days left:* the ballot closes Thursday 4 November" in digests(world)[1]


async def test_the_hour_is_local_and_paused_campaigns_get_none(world: World) -> None:
    # In British Summer Time 18:00 London is 17:00 UTC.
    summer = datetime(2021, 10, 1, 17, 0, tzinfo=UTC)
    assert await sweep(world, summer - timedelta(minutes=1)) == "digest: nothing due"
    assert await sweep(world, summer) == "digest: queued for pay-ballot"
    await lifecycle.set_state(world.rt.db, "pay-ballot", "paused", MONDAY)
    assert await sweep(world, MONDAY.replace(hour=19)) == "digest: nothing due"
    assert len(digests(world)) == 1


async def test_a_retried_delivery_posts_once(world: World, clock: Clock) -> None:
    world.slack.fail("files.getUploadURLExternal", "internal_error")
    await digest.run(world.rt, MONDAY.replace(hour=18))
    await world.service.slack_outbox.run_round()  # posted; the upload is deferred
    assert len(digests(world)) == 1 and world.slack.uploads == []
    clock.at += timedelta(minutes=1)
    await world.drain()
    assert len(digests(world)) == 1 and len(world.slack.uploads) == 1


def test_chart_scales_with_branches() -> None:
    few = render_chart([("Leeds", 0.25), ("York", 0.5), ("Bath", 1.0)], 0.5, "Three")
    many = render_chart([(f"Branch {i}", i / 87) for i in range(87)], 0.5, "Eighty-seven")
    assert few.startswith(PNG_SIGNATURE) and many.startswith(PNG_SIGNATURE)
    # PNG IHDR: width then height, big-endian, at bytes 16-24.
    few_height, many_height = (int.from_bytes(png[20:24], "big") for png in (few, many))
    assert int.from_bytes(many[16:20], "big") == int.from_bytes(few[16:20], "big")
    assert many_height > 10 * few_height // 2


def test_rendering_rounds_down_escapes_names_and_keeps_sections_short() -> None:
    branches = [(f"Branch {i:02d} " + "x" * 60, Counts(members=100, voted=i)) for i in range(87)]
    branches += [("<!channel>", Counts(members=10_000, voted=4_999)), ("", Counts(members=2))]
    text, blocks = render(
        Digest(
            campaign_id=1,
            campaign="Pay ballot",
            slug="pay-ballot",
            day=date(2021, 11, 4),
            timezone="Europe/London",
            threshold=0.5,
            ballot_closes=datetime(2021, 11, 4, 12, tzinfo=UTC),
            days_left=0,
            closed=False,
            replacements_open=0,
            replacements_processed=0,
            branches=tuple(branches),
        )
    )
    assert "*The ballot closes today* at 12:00." in text
    assert "• *&lt;!channel&gt;*: 49% (4,999/10,000)" in text  # 49.99% is not yet 50%
    assert "<!channel>" not in text and "• *(no branch)*: 0% (0/2)" in text
    assert (
        "8,740 of 18,702 members (46.7%) against the 50% threshold: 611 more votes needed" in text
    )
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(section) <= 3000 for section in sections) and len(blocks) <= 50
    assert sum(section.count("\n• ") + section.startswith("• ") for section in sections) == 89

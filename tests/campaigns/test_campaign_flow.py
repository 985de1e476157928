"""A campaign end to end: load, import, assign, agree, send next, stats.

Driven like people drive it: slash commands and button clicks signed by the
fake Slack, texts received by the fake Twilio.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.campaigns import assignment, lifecycle
from bot.campaigns.gate import AGREE_ACTION
from bot.campaigns.home import SEND_NEXT_ACTION
from bot.campaigns.sending import SKIP_ACTION
from bot.fakes.world import ADMIN, SUPPORT_CHANNEL, World
from bot.roster import members
from storage import optouts
from storage.models import Campaign, Conversation, Message
from tests.helpers import (
    ACTIVISTS,
    ALICE,
    BOB,
    T0,
    Clock,
    campaign_world,
    click,
    command,
    home_button,
    rows,
)

CAMPAIGN = """\
slug: pay-ballot
name: Pay ballot — get out the vote
timezone: Europe/London
texting_hours: {start: "09:00", end: "21:00"}
ballot_closes: 2021-11-04T12:00:00+00:00
turnout_threshold: 0.5
data_protection: >
  You are handling members' personal data on the union's behalf.
initial: >
  Hi {first_name}, it's {activist_first_name}, a rep at {branch}.
  Have you posted your ballot yet?
scripts:
  voted: Brilliant, thank you {first_name}!
outcomes:
  - {key: voted, label: Voted}
"""

ROSTER = """\
membership_no,first_name,last_name,phone,branch,department
M1,Sam,Jones,07400 100001,Leeds,History
M2,Priya,Patel,+44 7400 100002,Leeds,Physics
M3,Tom,Evans,447400100003,Leeds,Law
M4,Zoë,Smith,(0)7400-100004,Leeds,Music
M5,Rhys,Hughes,07400100005,Leeds,Nursing
M6,Ana,Khan,07400100006,Leeds,Nursing
M7,Bad,Phone,0161 496 0000,Leeds,Law
M8,No,Phone,,Leeds,Law
M9,Mei,Chen,07400100009,Bath,Music
"""
LEEDS_PHONES = [f"+4474001000{n:02d}" for n in range(1, 7)]


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)  # 10:00 in London


@pytest.fixture
async def world(database_url: str, clock: Clock, tmp_path: Path) -> AsyncIterator[World]:
    async with campaign_world(
        database_url, tmp_path, CAMPAIGN, roster=ROSTER, users=ACTIVISTS, clock=clock, imported=7
    ) as w:
        yield w


async def test_import_reports_bad_rows_by_number_and_reason(world: World) -> None:
    again = await members.import_roster(
        world.rt.db, "pay-ballot", ROSTER, region="GB", now=world.now()
    )
    assert (again.created, again.updated + again.unchanged) == (0, 7)
    rejected = {r.row_number: r.reason for r in again.rejected}
    assert set(rejected) == {8, 9}  # header is row 1
    assert "landline" in rejected[8] and "no phone" in rejected[9]


async def test_the_whole_campaign_loop(world: World) -> None:
    reply = await command(world, ADMIN, "assign <@U0ALICE|alice> 5 branch:Leeds")
    assert "Assigned 5 members in Leeds to <@U0ALICE>" in reply
    assert any(
        "gave you 5 members" in m["text"]
        for m in world.slack.messages(world.slack.dm_channel(ALICE))
    )

    # Not agreed yet: no member data on Home, and nothing can be sent.
    home = dump(world.slack.home_view(ALICE))
    assert "I agree" in home and "Sam" not in home and "Jones" not in home
    refused = await command(world, ALICE, "next")
    assert "data-protection" in refused
    assert world.twilio.messages == []

    campaign_id = home_button(world, ALICE, AGREE_ACTION)
    assert campaign_id is not None
    await click(world, ALICE, AGREE_ACTION, campaign_id)

    for _ in range(5):
        value = home_button(world, ALICE, SEND_NEXT_ACTION)
        assert value is not None
        await click(world, ALICE, SEND_NEXT_ACTION, value)
    sent = world.twilio.messages
    assert sorted(m["to"] for m in sent) == LEEDS_PHONES[:5]
    sam = next(m for m in sent if m["to"] == LEEDS_PHONES[0])
    assert sam["body"] == ("Hi Sam, it's Alice, a rep at Leeds. Have you posted your ballot yet?")

    # Each member's thread: the card, then the text sent with its state.
    [conversation] = [c for c in await rows(world, Conversation) if c.phone == LEEDS_PHONES[0]]
    assert conversation.dm_channel and conversation.thread_ts
    parent, first = world.slack.thread(conversation.dm_channel, conversation.thread_ts)
    assert "Sam Jones" in parent["text"] and "••• ••• 001" in dump(parent["blocks"])
    assert "Have you posted your ballot" in dump(first["blocks"])
    await world.twilio.deliver(sam["sid"], "delivered")
    await world.drain()
    first = world.slack.thread(conversation.dm_channel, conversation.thread_ts)[1]
    assert "delivered" in dump(first["blocks"])

    assert home_button(world, ALICE, SEND_NEXT_ACTION) is None
    assert "queue is empty" in await command(world, ALICE, "next")
    assert len(world.twilio.messages) == 5

    stats = await command(world, ALICE, "stats")
    assert "5 texts sent" in stats and "1 delivered" in stats


async def test_a_double_click_sends_once(world: World) -> None:
    await command(world, ADMIN, "assign <@U0ALICE|alice> 2")
    await click(world, ALICE, AGREE_ACTION, str(home_button(world, ALICE, AGREE_ACTION)))
    value = home_button(world, ALICE, SEND_NEXT_ACTION)
    assert value is not None
    url = world.service.url + "/slack/events"
    await asyncio.gather(
        world.slack.send_block_action(url, user_id=ALICE, action_id=SEND_NEXT_ACTION, value=value),
        world.slack.send_block_action(url, user_id=ALICE, action_id=SEND_NEXT_ACTION, value=value),
    )
    await world.drain()
    assert len(world.twilio.messages) == 1


async def test_nothing_leaves_outside_texting_hours(world: World, clock: Clock) -> None:
    await command(world, ADMIN, "assign <@U0ALICE|alice> 3")
    await click(world, ALICE, AGREE_ACTION, str(home_button(world, ALICE, AGREE_ACTION)))
    clock.at = datetime(2021, 11, 1, 22, 30, tzinfo=UTC)
    reply = await command(world, ALICE, "next")
    assert "Outside texting hours" in reply and "09:00" in reply
    assert world.twilio.messages == []

    # Queued a moment before closing, reaching the worker after: held, not sent.
    clock.at = datetime(2021, 11, 1, 20, 59, 50, tzinfo=UTC)
    _, body = await world.slack.send_command(
        world.service.url + "/slack/events", user_id=ALICE, text="next"
    )
    assert body.startswith("Texting ")
    clock.at = datetime(2021, 11, 1, 21, 0, 10, tzinfo=UTC)
    await world.service.sms_outbox.run_round()
    assert world.twilio.messages == []
    [held] = await rows(world, Message, direction="out")
    assert held.status == "pending" and held.not_before == datetime(2021, 11, 2, 9, 0, tzinfo=UTC)
    clock.at = datetime(2021, 11, 2, 9, 0, 5, tzinfo=UTC)
    await world.drain()
    assert len(world.twilio.messages) == 1


async def test_a_missing_script_field_blocks_the_send_and_can_be_skipped(
    world: World,
) -> None:
    await members.import_roster(
        world.rt.db,
        "pay-ballot",
        "membership_no,first_name,phone,branch\nM20,,07400100020,York\n",
        region="GB",
        now=world.now(),
    )
    await command(world, ADMIN, "assign <@U0ALICE|alice> 1 branch:York")
    await click(world, ALICE, AGREE_ACTION, str(home_button(world, ALICE, AGREE_ACTION)))
    reply = await command(world, ALICE, "next")
    assert "{first_name}" in reply and "Not sent" in reply
    assert world.twilio.messages == []
    [conversation] = await rows(world, Conversation)
    await click(world, ALICE, SKIP_ACTION, str(conversation.id))
    assert "queue is empty" in await command(world, ALICE, "next")


async def test_only_organisers_assign_and_admins_make_organisers(world: World) -> None:
    reply = await command(world, ALICE, "assign <@U0BOB|bob> 5")
    assert "Only organisers" in reply
    assert await rows(world, Conversation) == []
    assert "organiser" in await command(world, ADMIN, "role <@U0BOB|bob> organiser")
    assert "Assigned 2" in await command(world, BOB, "assign <@U0ALICE|alice> 2")
    assert "Only admins" in await command(world, BOB, "role <@U0ALICE|alice> organiser")


async def test_typos_get_help_not_a_stack_trace(world: World) -> None:
    reply = await command(world, ADMIN, "asign <@U0ALICE|alice> 5")
    assert "Did you mean `/turnout assign`" in reply
    assert "Usage: /turnout assign" in await command(world, ADMIN, "assign <@U0ALICE|alice>")
    assert "No campaign 'nope'" in await command(
        world, ADMIN, "assign <@U0ALICE|a> 5 campaign:nope"
    )


async def test_assigning_more_than_remain_gives_what_remains(world: World) -> None:
    reply = await command(world, ADMIN, "assign <@U0ALICE|alice> 50 branch:Leeds")
    assert "Only 6 of the 50" in reply
    assert "No unassigned" in await command(world, ADMIN, "assign <@U0BOB|bob> 5 branch:Leeds")


async def test_concurrent_assigns_share_no_member(world: World) -> None:
    big = "membership_no,first_name,phone,branch\n" + "".join(
        f"B{n},Member{n},0740020{n:04d},Bristol\n" for n in range(40)
    )
    await members.import_roster(world.rt.db, "pay-ballot", big, region="GB", now=world.now())
    results = await asyncio.gather(
        *(
            assignment.assign_batch(world.rt, ADMIN, user, 15, branch="Bristol")
            for user in (ALICE, BOB, "U0CAROL")
        )
    )
    assert sum(r.given for r in results) == 40
    owners = [c.owner_id for c in await rows(world, Conversation)]
    assert len(owners) == 40 and {owners.count(u) for u in (ALICE, BOB, "U0CAROL")} <= {15, 10}


async def test_reimport_keeps_opt_outs(world: World) -> None:
    async with world.rt.db.transaction() as session:
        await optouts.add(session, LEEDS_PHONES[0], source="keyword", now=world.now())
    report = await members.import_roster(
        world.rt.db, "pay-ballot", ROSTER, region="GB", now=world.now()
    )
    assert report.already_opted_out == 1
    async with world.rt.db.sessions() as session:
        assert await optouts.is_opted_out(session, LEEDS_PHONES[0])
    reply = await command(world, ADMIN, "assign <@U0ALICE|alice> 50 branch:Leeds")
    assert "Assigned 5" in reply  # six in Leeds, one opted out


async def test_release_sends_later_replies_to_support(world: World) -> None:
    await command(world, ADMIN, "assign <@U0ALICE|alice> 1")
    await click(world, ALICE, AGREE_ACTION, str(home_button(world, ALICE, AGREE_ACTION)))
    await command(world, ALICE, "next")
    [conversation] = await rows(world, Conversation)
    await click(world, ALICE, "conversation_release", str(conversation.id))
    await world.member_texts(conversation.phone, "Who was that?")
    await world.drain()
    [card] = world.slack.messages(SUPPORT_CHANNEL)
    assert "Who was that?" in dump(card["blocks"])


async def test_import_warns_of_script_fields_no_column_provides(
    world: World, tmp_path: Path
) -> None:
    path = tmp_path / "campaign.yml"
    path.write_text(CAMPAIGN.replace("Brilliant,", "Brilliant {department},"), encoding="utf-8")
    await lifecycle.load_campaign(world.rt.db, path, world.now())
    no_department = "first_name,phone,branch\nSam,07400100001,Leeds\n"
    report = await members.import_roster(
        world.rt.db, "pay-ballot", no_department, region="GB", now=world.now()
    )
    assert report.script_fields_missing == {"department"}
    assert "{department}, which no column of this file provides" in report.summary()
    with_department = await members.import_roster(
        world.rt.db, "pay-ballot", ROSTER, region="GB", now=world.now()
    )
    assert with_department.script_fields_missing == set()


async def test_a_member_who_texted_in_first_is_never_sent_the_initial_script(
    world: World,
) -> None:
    [campaign] = await rows(world, Campaign)
    await click(world, ALICE, AGREE_ACTION, str(campaign.id))
    await world.member_texts(LEEDS_PHONES[0], "Hello, who is this?")
    await world.drain()
    [card] = world.slack.messages(SUPPORT_CHANNEL)
    [conversation] = await rows(world, Conversation)
    await world.click(
        ALICE,
        "conversation_claim",
        str(conversation.id),
        channel_id=SUPPORT_CHANNEL,
        message_ts=card["ts"],
    )
    await world.drain()
    assert "queue is empty" in await command(world, ALICE, "next")
    assert world.twilio.messages == []


async def test_unassign_and_reassign_move_members(world: World) -> None:
    await command(world, ADMIN, "assign <@U0ALICE|alice> 4 branch:Leeds")
    await click(world, ALICE, AGREE_ACTION, str(home_button(world, ALICE, AGREE_ACTION)))
    await command(world, ALICE, "next")  # one texted, three unsent
    assert "Took 3 unsent members back" in await command(world, ADMIN, "unassign <@U0ALICE|a>")
    conversations = await rows(world, Conversation)
    assert [c.owner_id for c in conversations].count(ALICE) == 1

    reply = await command(world, ADMIN, "reassign <@U0ALICE|a> <@U0BOB|b>")
    assert "Moved 1 conversations" in reply
    [texted] = [c for c in await rows(world, Conversation) if c.initial_sent_at is not None]
    assert texted.owner_id == BOB
    # Bob has not agreed yet, so the texted conversation waits for him to agree.
    assert world.slack.messages(world.slack.dm_channel(BOB)) != []
    await click(world, BOB, AGREE_ACTION, str(home_button(world, BOB, AGREE_ACTION)))
    [texted] = [c for c in await rows(world, Conversation) if c.initial_sent_at is not None]
    assert texted.dm_channel == world.slack.dm_channel(BOB) and texted.thread_ts
    history = world.slack.thread(texted.dm_channel, texted.thread_ts)[-1]
    assert "Have you posted your ballot" in world.slack.rendered_text(history)


async def test_a_paused_campaign_sends_nothing(world: World) -> None:
    await command(world, ADMIN, "assign <@U0ALICE|alice> 2")
    await click(world, ALICE, AGREE_ACTION, str(home_button(world, ALICE, AGREE_ACTION)))
    assert "paused" in await command(world, ADMIN, "campaign pause pay-ballot")
    assert "paused" in await command(world, ALICE, "next")
    assert world.twilio.messages == []
    assert "active" in await command(world, ADMIN, "campaign start pay-ballot")
    assert (await command(world, ALICE, "next")).startswith("Texting ")
    assert "pay-ballot" in await command(world, ADMIN, "campaign list")


async def test_a_run_of_clicks_draws_app_home_once_with_the_last_state(world: World) -> None:
    await command(world, ADMIN, "assign <@U0ALICE|alice> 3")
    await click(world, ALICE, AGREE_ACTION, str(home_button(world, ALICE, AGREE_ACTION)))
    drawn = sum(1 for c in world.slack.calls if c.method == "views.publish")
    url = world.service.url + "/slack/events"
    for _ in range(3):  # three clicks before the outbox runs
        status, _ = await world.slack.send_block_action(
            url, user_id=ALICE, action_id=SEND_NEXT_ACTION, value=""
        )
        assert status == 200
    await world.drain()
    assert len(world.twilio.messages) == 3
    publishes = [c for c in world.slack.calls if c.method == "views.publish"][drawn:]
    assert len(publishes) == 1
    # What it drew is the state after the last click: nothing left to send.
    assert home_button(world, ALICE, SEND_NEXT_ACTION) is None

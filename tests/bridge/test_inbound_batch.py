"""Group commit: members' texts arriving together share one transaction, and each
is still stored once, answered only once stored, and shown once in Slack."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from bot.bridge.inbound import IncomingText
from bot.bridge.inbound_batch import InboundBatcher
from bot.fakes.world import SUPPORT_CHANNEL, World
from storage.db import Database
from storage.models import Conversation, Message
from tests.helpers import add_member, count, owned_conversation, rows

PHONES = [f"+447400{200000 + n:06d}" for n in range(40)]


def count_commits(db: Database) -> list[int]:
    commits = [0]

    def on_commit(_conn: Any) -> None:
        commits[0] += 1

    event.listen(db.engine.sync_engine, "commit", on_commit)
    return commits


async def test_a_burst_shares_commits_and_every_text_is_stored_once(world: World) -> None:
    for phone in PHONES[:10]:
        await owned_conversation(world, phone)
    commits = count_commits(world.rt.db)
    answers = await asyncio.gather(
        *(world.member_texts(phone, f"reply from {phone[-3:]}") for phone in PHONES)
    )
    assert [status for status, _ in answers] == [200] * len(PHONES)
    # Persist, then acknowledge: every text is stored by the time its answer came.
    assert await count(world, Message, direction="in") == len(PHONES)
    assert commits[0] < len(PHONES), f"{commits[0]} commits for {len(PHONES)} texts"

    await world.drain()
    bodies = [m.body for m in await rows(world, Message, direction="in")]
    assert sorted(bodies) == sorted(f"reply from {p[-3:]}" for p in PHONES)
    # The owned ten in their threads, the other thirty as Claim cards: each once.
    claims = [m for m in world.slack.messages(SUPPORT_CHANNEL) if "reply from" in str(m)]
    assert len(claims) == len(PHONES) - 10
    assert await count(world, Conversation) == len(PHONES)


async def test_a_sid_twice_in_one_burst_is_stored_once(world: World) -> None:
    sid = "SM" + "7" * 32
    answers = await asyncio.gather(
        *(world.member_texts(PHONES[0], "Yes!", message_sid=sid) for _ in range(5))
    )
    assert [status for status, _ in answers] == [200] * 5
    assert await count(world, Message, direction="in") == 1


async def test_two_instances_racing_on_the_same_texts_store_each_once(world: World) -> None:
    """Twilio retrying at a second instance: the shared transaction fails there, and
    each text is stored alone, so duplicates are recognised and nothing is lost."""
    texts = [IncomingText(f"SM{n:032d}", PHONES[n % 8], f"text {n}") for n in range(30)]
    other_db = Database(world.settings.database_url)
    try:
        from dataclasses import replace

        other_rt = replace(world.rt, db=other_db)
        here, there = InboundBatcher(world.rt), InboundBatcher(other_rt)
        results = await asyncio.gather(
            *(here.receive(t) for t in texts), *(there.receive(t) for t in texts)
        )
    finally:
        await other_db.dispose()
    assert sum(results) == len(texts), "each text stored by exactly one of the two"
    assert await count(world, Message, direction="in") == len(texts)


async def test_a_members_first_two_texts_in_two_flushes_are_both_stored(world: World) -> None:
    """The second batch finds the conversation the first just opened, and stores its
    text too: neither is answered 200 without being stored."""
    for phone, with_member in (("+447400555001", True), ("+447400555002", False)):
        if with_member:
            await add_member(world, phone)
        batcher = InboundBatcher(world.rt)
        first = asyncio.ensure_future(batcher.receive(IncomingText(f"SM{phone}a", phone, "one")))
        for _ in range(3):
            await asyncio.sleep(0)
        second = asyncio.ensure_future(batcher.receive(IncomingText(f"SM{phone}b", phone, "two")))
        assert await asyncio.gather(first, second) == [True, True]
        [conversation] = await rows(world, Conversation, phone=phone)
        assert await count(world, Message, conversation_id=conversation.id) == 2


async def test_a_webhook_that_hangs_up_still_has_its_text_stored(world: World) -> None:
    batcher = InboundBatcher(world.rt)
    gone = asyncio.ensure_future(batcher.receive(IncomingText("SM" + "8" * 32, PHONES[1], "a")))
    await asyncio.sleep(0)
    gone.cancel()
    assert await batcher.receive(IncomingText("SM" + "9" * 32, PHONES[1], "b")) is True
    for _ in range(50):
        if await count(world, Message, direction="in") == 2:
            break
        await asyncio.sleep(0.02)
    assert await count(world, Message, direction="in") == 2

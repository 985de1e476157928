"""Rate limits live in the database: two instances together keep one rate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

import storage.db
from bot.fakes.world import FAST, World
from bot.workers import Pacer, Urgency
from storage import ratelimits
from storage.db import Database
from tests.helpers import SAM_PHONE, started_thread

Pair = tuple[Database, Database]


@pytest.fixture
async def two_instances(database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two processes' worth of engines on one migrated database."""
    await asyncio.to_thread(storage.db.migrate, database_url)
    first, second = Database(database_url), Database(database_url)
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


async def test_gcra_allows_the_burst_then_the_rate(two_instances: Pair) -> None:
    db, _ = two_instances

    async def take(now: float) -> float:
        async with db.transaction() as session:
            return await ratelimits.acquire(session, "k", now=now, interval=1.0, burst=3)

    assert [await take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await take(100.0) == pytest.approx(1.0)
    assert await take(100.5) == pytest.approx(0.5)
    assert await take(101.0) == 0.0
    assert await take(101.0) == pytest.approx(1.0)
    # Idle long enough and the whole burst is back, no more.
    assert [await take(200.0) for _ in range(4)][-1] == pytest.approx(1.0)


async def test_two_instances_share_one_rate(two_instances: Pair) -> None:
    rate, per_instance = 20.0, 15
    pacers = [Pacer(db, rate, burst=1, prefix="sms:", shared=True) for db in two_instances]
    stamps: list[float] = []

    async def send(pacer: Pacer) -> None:
        await pacer.wait("+441234")
        stamps.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(send(p) for p in pacers for _ in range(per_instance)))
    # 30 slots at 20 a second, the first at once: at least 29/20 s in all,
    # which each instance alone (15 slots, 0.7 s) would not have needed.
    elapsed = max(stamps) - started
    assert elapsed >= (2 * per_instance - 1) / rate * 0.95
    in_any_second = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert in_any_second <= rate + 1


async def test_a_retry_after_pauses_every_instance(two_instances: Pair) -> None:
    first, second = (Pacer(db, 0.0, prefix="slack-method:", shared=True) for db in two_instances)
    assert await second.paused_for("chat.postMessage") == 0.0
    await first.pause("chat.postMessage", 0.6)
    # The second reads the database at most every `recheck` seconds.
    await asyncio.sleep(second.recheck)
    paused = await second.paused_for("chat.postMessage")
    free_at = time.monotonic() + paused
    assert 0.0 < paused <= 0.6 - second.recheck
    assert await second.paused_for("chat.update") == 0.0
    await second.wait("chat.postMessage")
    assert time.monotonic() >= free_at - 0.02


async def test_a_rated_pause_holds_the_burst_too(two_instances: Pair) -> None:
    first, second = (Pacer(db, 10.0, burst=10, prefix="sms:", shared=True) for db in two_instances)
    await first.pause("sender", 0.5)
    started = time.monotonic()
    await second.wait("sender")
    assert time.monotonic() - started >= 0.45


async def test_the_outbox_keeps_to_slacks_channel_limit(database_url: str) -> None:
    options = replace(FAST, slack_posts_per_second=2.0, slack_burst=2)
    world = await World.start(database_url, options=options)
    try:
        # Slack allows short bursts; Turnout keeps one post inside them, for jitter.
        world.slack.limit_posts(2.0, burst=3)
        dm, thread_ts = await started_thread(world)
        started = time.monotonic()
        for n in range(6):
            status, _ = await world.member_texts(SAM_PHONE, f"reply number {n}")
            assert status == 200
        await world.drain()
        elapsed = time.monotonic() - started
        texts = [world.slack.rendered_text(m) for m in world.slack.thread(dm, thread_ts)]
        assert [n for n in range(6) for t in texts if f"reply number {n}" in t] == list(range(6))
        # Paced to the limit, so Slack never had to refuse a post: 6 posts, 2 at once,
        # then 2 a second.
        assert world.slack.posts_refused == 0
        assert elapsed >= 1.8
    finally:
        await world.stop()


async def test_background_work_gives_way_while_something_urgent_runs() -> None:
    urgency = Urgency(patience=0.3)
    started = time.monotonic()
    await urgency.calm()  # nothing under way: at once
    assert time.monotonic() - started < 0.05

    async def webhook() -> None:
        async with urgency.hold():
            await asyncio.sleep(0.1)

    answering = asyncio.create_task(webhook())
    await asyncio.sleep(0)
    started = time.monotonic()
    await urgency.calm()  # waits for the webhook to be answered
    assert 0.08 <= time.monotonic() - started < 0.25
    await answering

    async def stuck() -> None:
        async with urgency.hold():
            await asyncio.sleep(1.0)

    holding = asyncio.create_task(stuck())
    await asyncio.sleep(0)
    started = time.monotonic()
    await urgency.calm()  # but never longer than its patience
    assert 0.25 <= time.monotonic() - started < 0.6
    holding.cancel()

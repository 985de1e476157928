"""The mixed-load benchmark (`scripts/bench.py mixed`).

Members' texts arrive as signed webhooks twice: first alone, then while the
Slack outbox drains into a Slack that holds one post a second per channel
and activists answer in their threads (each answer a Slack event that
becomes a text to Twilio). If a webhook waited behind a Slack call, its
latency would grow in the second phase; the table shows both.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import bench
from bench import scratch_postgres
from bench_burst import member_replies
from bench_stack import SLACK_BURST, SLACK_RATE, Seeded, Stack, pct, seed


async def mixed(args: argparse.Namespace) -> None:
    engines = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="turnout-bench-") as tmp:
        for engine, base in engines:
            if base is None:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'mixed.db'}"
                rows += await _mixed_one(engine, url, Path(tmp), args)
            else:
                async with scratch_postgres(base) as url:
                    rows += await _mixed_one(engine, url, Path(tmp), args)
    print(
        f"\nMixed load: {args.requests:,} members' texts, {args.concurrency} at a time, alone "
        f"and then with {args.requests // 2:,} activists' answers in threads and the Slack "
        "outbox draining\n"
    )
    print(
        "| database | phase | texts/s | webhook p50 ms | p99 ms | max ms "
        "| Slack event p50 ms | p99 ms | Slack posts made |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    bench.machine()


async def _mixed_one(engine: str, url: str, tmp: Path, args: argparse.Namespace) -> list[str]:
    async with Stack(url, tmp) as stack:
        stack.slack.limit_posts(SLACK_RATE, burst=SLACK_BURST)
        seeded = await seed(url, stack.slack, 2 * args.requests, args.activists, threads=True)
        await stack.serve()
        phones = list(seeded.phones)
        random.Random(11).shuffle(phones)
        first, second = phones[: args.requests], phones[args.requests :]
        rows = []
        for phase, texts, answers in (
            ("texts alone", first, []),
            ("with Slack and activists", second, first[: args.requests // 2]),
        ):
            await _quiet(stack)
            posts = len(stack.slack.calls)
            latencies: list[float] = []
            events: list[float] = []
            started = time.monotonic()
            await asyncio.gather(
                member_replies(stack, texts, args.concurrency, latencies),
                _answers(stack, seeded, answers, events),
            )
            seconds = time.monotonic() - started
            made = sum(1 for c in stack.slack.calls[posts:] if c.method == "chat.postMessage")
            shown_events = (
                f"{pct(events, 0.5) * 1000:.0f} | {pct(events, 0.99) * 1000:.0f}"
                if events
                else "— | —"
            )
            rows.append(
                f"| {engine} | {phase} | {len(texts) / seconds:,.0f} "
                f"| {pct(latencies, 0.5) * 1000:.0f} | {pct(latencies, 0.99) * 1000:.0f} "
                f"| {max(latencies) * 1000:.0f} | {shown_events} | {made:,} |"
            )
    return rows


async def _quiet(stack: Stack, seconds: float = 2.0) -> None:
    """Until the fake Slack has had no call for `seconds` (the outbox is idle)."""
    while True:
        last = stack.slack.calls[-1].at if stack.slack.calls else 0.0
        if time.time() - last >= seconds:
            return
        await asyncio.sleep(0.5)


async def _answers(stack: Stack, seeded: Seeded, phones: list[str], latencies: list[float]) -> None:
    """Activists answer in the threads of `phones`, 20 at a time, as Slack events."""
    urls = [f"http://127.0.0.1:{port}/slack/events" for port in stack.ports]
    queue = list(reversed(phones))

    async def worker() -> None:
        while queue:
            phone = queue.pop()
            owner = seeded.owner_of[phone]
            event = stack.slack.post_as_user(
                seeded.channels[owner],
                owner,
                "Thanks! Do you need a replacement ballot?",
                thread_ts=seeded.thread_of[phone],
            )
            sent = time.monotonic()
            status, _ = await stack.slack.send_event(urls[len(queue) % len(urls)], event)
            if status == 200:
                latencies.append(time.monotonic() - sent)

    await asyncio.gather(*(worker() for _ in range(20)))

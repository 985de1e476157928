"""The reply-burst benchmark (`scripts/bench.py burst`).

Members' replies arrive as fast as signed webhooks can carry them, into
activists' threads, with the fake Slack holding chat.postMessage to its
per-channel limit. Each reply's time into its thread is compared with the
best that limit allows, computed from the same run's arrival times.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import aiohttp
import bench
from bench import PUBLIC, SENDER, TOKEN, scratch_postgres
from bench_stack import SLACK_BURST, SLACK_RATE, Seeded, Stack, pct, seed
from twilio.request_validator import RequestValidator


def _gcra_finish(arrivals: list[float], rate: float, burst: int) -> list[float]:
    """When each of `arrivals` (sorted) could be posted at best under a GCRA limit."""
    interval, tolerance = 1.0 / rate, (burst - 1) / rate
    tat, out = 0.0, []
    for arrived in arrivals:
        at = max(arrived, tat - tolerance)
        tat = max(tat, at) + interval
        out.append(at)
    return out


async def burst(args: argparse.Namespace) -> None:
    """Members' replies into activists' threads, as fast as they come, under Slack's
    per-channel limit; each reply's time into its thread against the limit's best."""
    engines = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="turnout-bench-") as tmp:
        for engine, base in engines:
            if base is None:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'burst.db'}"
                rows.append(await _burst_one(engine, url, Path(tmp), args))
            else:
                async with scratch_postgres(base) as url:
                    rows.append(await _burst_one(engine, url, Path(tmp), args))
    print(
        f"\nReply burst: {args.replies:,} members' replies into {args.activists} activists' "
        f"DMs ({args.replies // args.activists} threads each), Slack holding "
        f"{SLACK_RATE:.0f} post/s per channel, {SLACK_BURST} at once\n"
    )
    print(
        "| database | webhooks/s | in thread p50 s | p99 s | all in, s | best possible, s "
        "| × best | lost | duplicated | 429s | CPU ms/reply |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    bench.machine()


async def _burst_one(engine: str, url: str, tmp: Path, args: argparse.Namespace) -> str:
    async with Stack(url, tmp) as stack:
        stack.slack.limit_posts(SLACK_RATE, burst=SLACK_BURST)
        seeded = await seed(url, stack.slack, args.replies, args.activists, threads=True)
        await stack.serve()
        order = list(seeded.phones)
        random.Random(7).shuffle(order)
        cpu_before = stack.cpu()
        started = time.monotonic()
        acked = await member_replies(stack, order, args.concurrency)
        load_seconds = time.monotonic() - started
        shown = await wait_shown(stack, seeded, args.timeout)
        cpu = stack.cpu() - cpu_before
    lost = sum(1 for phone in seeded.phones if shown.get(phone, []) == [])
    duplicated = sum(len(times) - 1 for times in shown.values() if len(times) > 1)
    delays = [times[0] - acked[phone] for phone, times in shown.items() if times]
    finished = max((t for times in shown.values() for t in times), default=started)
    best = 0.0
    by_channel: dict[str, list[float]] = {}
    for phone in seeded.phones:
        by_channel.setdefault(seeded.channels[seeded.owner_of[phone]], []).append(acked[phone])
    for arrivals in by_channel.values():
        best = max(best, _gcra_finish(sorted(arrivals), SLACK_RATE, SLACK_BURST)[-1])
    total, minimum = finished - started, best - started
    return (
        f"| {engine} | {len(order) / load_seconds:,.0f} | {pct(delays, 0.5):.1f} "
        f"| {pct(delays, 0.99):.1f} | {total:.1f} | {minimum:.1f} | {total / minimum:.2f}× "
        f"| {lost} | {duplicated} | {stack.slack.posts_refused} "
        f"| {cpu * 1000 / len(order):.2f} |"
    )


async def member_replies(
    stack: Stack, phones: list[str], concurrency: int, latencies: list[float] | None = None
) -> dict[str, float]:
    """Each phone texts once, `concurrency` at a time; when each was acknowledged
    (and, into `latencies`, how long each answer took)."""
    validator = RequestValidator(TOKEN)
    signed = PUBLIC + "/twilio/inbound"
    urls = [f"http://127.0.0.1:{port}/twilio/inbound" for port in stack.ports]
    acked: dict[str, float] = {}
    queue = list(reversed(phones))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            while queue:
                phone = queue.pop()
                params = {
                    "MessageSid": f"SM{int(phone[1:]):032d}",
                    "AccountSid": stack.twilio.account_sid,
                    "From": phone,
                    "To": SENDER,
                    "Body": f"Yes I posted it [r{phone[-7:]}]",
                    "NumMedia": "0",
                }
                headers = {"X-Twilio-Signature": validator.compute_signature(signed, params)}
                for _ in range(5):
                    url = urls[len(queue) % len(urls)]
                    sent = time.monotonic()
                    async with http.post(url, data=params, headers=headers) as response:
                        await response.read()
                        if response.status == 200:
                            acked[phone] = time.monotonic()
                            if latencies is not None:
                                latencies.append(acked[phone] - sent)
                            break
                    await asyncio.sleep(0.5)  # as Twilio would retry

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acked


async def wait_shown(stack: Stack, seeded: Seeded, timeout: float) -> dict[str, list[float]]:
    """Poll the fake's posts until every reply is in a thread (or `timeout` passes);
    phone -> when each post of its reply (one, if nothing was duplicated) was made."""
    deadline = time.monotonic() + timeout
    offset = time.time() - time.monotonic()  # the fake stamps calls with time.time()
    while True:
        shown: dict[str, list[float]] = {}
        for call in stack.slack.calls:
            if call.method != "chat.postMessage" or call.error is not None:
                continue
            text = str(call.params.get("text") or "")
            start = text.find("[r")
            if start < 0:
                continue
            phone = "+44740" + text[start + 2 : start + 9]
            if call.params.get("thread_ts") == seeded.thread_of.get(phone):
                shown.setdefault(phone, []).append(call.at - offset)
        if len(shown) >= len(seeded.phones) or time.monotonic() > deadline:
            return shown
        await asyncio.sleep(1.0)

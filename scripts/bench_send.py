"""The Send next benchmark (`scripts/bench.py send`).

Activists click Send next together; the time from each click to the fake
Twilio receiving the Messages request, and the texts a second against the
configured `--sms-rate`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import bench
from bench import scratch_postgres
from bench_stack import Stack, pct, seed


async def send(args: argparse.Namespace) -> None:
    """Activists clicking Send next together: click to Twilio, and texts a second
    against the configured --sms-rate."""
    engines = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="turnout-bench-") as tmp:
        for engine, base in engines:
            for phase, rate in (("latency", 1000.0), ("throughput", args.sms_rate)):
                if base is None:
                    url = f"sqlite+aiosqlite:///{Path(tmp) / f'send-{phase}.db'}"
                    rows.append(await _send_one(engine, phase, rate, url, Path(tmp), args))
                else:
                    async with scratch_postgres(base) as url:
                        rows.append(await _send_one(engine, phase, rate, url, Path(tmp), args))
    print(
        f"\nSend next: {args.clickers} activists clicking together, {args.rounds} rounds; "
        "click to Twilio (the fake's receipt of the Messages request)\n"
    )
    print(
        "| database | --sms-rate | texts | click ack p95 ms | to Twilio p50 ms | p95 ms "
        "| max ms | texts/s | × rate | duplicated |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    bench.machine()


async def _send_one(
    engine: str, phase: str, rate: float, url: str, tmp: Path, args: argparse.Namespace
) -> str:
    async with Stack(url, tmp) as stack:
        per = args.rounds
        seeded = await seed(url, stack.slack, args.clickers * per, args.clickers, threads=False)
        await stack.serve(sms_rate=rate)
        clicks: dict[str, list[float]] = {}
        acks: list[float] = []
        slack_urls = [f"http://127.0.0.1:{port}/slack/events" for port in stack.ports]
        for _ in range(per):
            started = time.monotonic()
            results = await asyncio.gather(
                *(
                    stack.slack.send_block_action(
                        slack_urls[n % len(slack_urls)],
                        user_id=user,
                        action_id="send_next",
                        value="",
                    )
                    for n, user in enumerate(seeded.activists)
                )
            )
            acks.append(time.monotonic() - started)
            assert all(status == 200 for status, _ in results), results[:3]
            for user in seeded.activists:
                clicks.setdefault(user, []).append(started)
            if phase == "latency":
                await asyncio.sleep(1.0)  # the next round after the texts have gone
        await _wait_sent(stack, len(seeded.phones), args.timeout)
    offset = time.time() - time.monotonic()
    creates = [r for r in stack.twilio.requests if r["method"] == "POST" and "To" in r["form"]]
    sent_to: dict[str, list[float]] = {}
    for request in creates:
        sent_to.setdefault(request["form"]["To"], []).append(request["at"].timestamp() - offset)
    duplicated = sum(len(times) - 1 for times in sent_to.values())
    latencies = []
    for user in seeded.activists:
        mine = sorted(
            t for phone, times in sent_to.items() if seeded.owner_of[phone] == user for t in times
        )
        latencies += [
            (sent - click) * 1000 for click, sent in zip(clicks[user], mine, strict=False)
        ]
    times = sorted(t for ts in sent_to.values() for t in ts)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    per_second = (len(times) - 1) / span if span else float("nan")
    shown_rate = "—" if phase == "latency" else f"{rate:g}"
    ratio = "" if phase == "latency" else f"{per_second / rate:.2f}×"
    return (
        f"| {engine} | {shown_rate} | {len(times)} | {pct(acks, 0.95) * 1000:.0f} "
        f"| {pct(latencies, 0.5):.0f} | {pct(latencies, 0.95):.0f} | {max(latencies):.0f} "
        f"| {per_second:.1f} | {ratio} | {duplicated} |"
    )


async def _wait_sent(stack: Stack, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(stack.twilio.messages) >= expected:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"only {len(stack.twilio.messages)} of {expected} texts reached Twilio")

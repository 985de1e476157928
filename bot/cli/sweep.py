"""`turnout sweep NAME [--now ISO-8601]`: run one sweep once, for operators and tests."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from bot.config import Settings
from bot.sweeps.runner import SWEEPS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "sweep",
        help="run one sweep once: nudges, followups, digest, reconcile",
        description="Run one sweep once, then deliver the Slack posts it queued.",
    )
    parser.add_argument(
        "name", choices=sorted(SWEEPS), metavar="NAME", help=f"one of {', '.join(SWEEPS)}"
    )
    parser.add_argument(
        "--now",
        metavar="ISO-8601",
        help="the time to run it at (default: now), e.g. 2021-11-01T10:00:00Z",
    )
    parser.set_defaults(run=_sweep)


def _sweep(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    if args.now:
        try:
            now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
        except ValueError:
            print(f"turnout: --now {args.now!r} is not an ISO-8601 time", file=sys.stderr)
            return 2
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    print(asyncio.run(_run(settings, args.name, now)))
    return 0


async def _run(settings: Settings, name: str, now: datetime) -> str:
    from bot.app import make_runtime, slack_deliveries
    from bot.bridge.slack_outbox import SlackOutbox
    from bot.sweeps.runner import run_sweep

    rt = make_runtime(settings, clock=lambda: now)
    try:
        await rt.db.require_migrated()
        summary = await run_sweep(rt, name, now, holder="cli")
        if summary is None:
            return f"sweep {name} is running in another instance; nothing done"
        if settings.slack_bot_token:
            await SlackOutbox(rt, slack_deliveries()).drain(timeout=120)
        return summary
    finally:
        await rt.sms.close()
        await rt.db.dispose()

"""Scheduled sweeps: idempotent passes over database state.

Each sweep is `async def run(rt, now) -> str` (a one-line summary of what it
did). Running one twice at the same `now` does nothing more the second time,
so a restart or a missed run loses nothing; `turnout sweep NAME --now` runs
one by hand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.runtime import Runtime

Sweep = Callable[[Runtime, datetime], Awaitable[str]]

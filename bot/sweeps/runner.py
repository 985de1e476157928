"""Running sweeps: by name, under a lease, on a schedule or from the command line."""

from __future__ import annotations

import importlib
import logging
import os
import socket
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.runtime import Runtime
from bot.sweeps import Sweep
from storage import sweeps as queries

log = logging.getLogger(__name__)

# name -> (module, minutes between scheduled runs)
SWEEPS: dict[str, tuple[str, int]] = {
    "nudges": ("bot.sweeps.nudges", 5),
    "followups": ("bot.sweeps.followups", 5),
    "digest": ("bot.sweeps.digest", 10),
    "reconcile": ("bot.sweeps.reconcile", 5),
}
LEASE = timedelta(minutes=10)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


class UnknownSweep(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no sweep {name!r}: choose one of {', '.join(SWEEPS)}")


def sweep(name: str) -> Sweep:
    if name not in SWEEPS:
        raise UnknownSweep(name)
    run: Sweep = importlib.import_module(SWEEPS[name][0]).run
    return run


async def run_sweep(rt: Runtime, name: str, now: datetime, *, holder: str = HOLDER) -> str | None:
    """Run sweep `name` once, unless another instance holds its lease (then None)."""
    run = sweep(name)
    async with rt.db.transaction() as session:
        if not await queries.take_lease(session, name, holder, rt.now(), LEASE):
            log.info("sweep %s is running elsewhere; skipped", name)
            return None
    try:
        summary = await run(rt, now)
    finally:
        async with rt.db.transaction() as session:
            await queries.drop_lease(session, name, holder)
    log.info("sweep %s: %s", name, summary)
    return summary


def schedule(rt: Runtime) -> AsyncIOScheduler:
    """An APScheduler running every sweep at its interval (started by the caller)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for name, (_, minutes) in SWEEPS.items():
        scheduler.add_job(
            _scheduled,
            "interval",
            minutes=minutes,
            args=[rt, name],
            id=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=minutes * 60,
        )
    return scheduler


async def _scheduled(rt: Runtime, name: str) -> None:
    try:
        await run_sweep(rt, name, rt.now())
    except Exception:
        # A failed round is logged and retried at the next interval; state is in the database.
        log.exception("sweep %s failed", name)

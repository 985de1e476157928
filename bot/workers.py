"""The shape shared by the outbox workers: poll, take, deliver, pace.

A worker owns no state that matters: every queue is rows in the database,
so a restarted worker (or a second one) carries on where the last stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from storage import ratelimits
from storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")


class Pacer:
    """A rate per key (a Slack channel, the SMS sender), held in the database.

    `rate` requests a second per key, `burst` at once; `wait(key)` returns
    once a slot is taken. `pause(key, seconds)` honours a Retry-After. The
    slots are rows (`storage.ratelimits`), so the rate holds across every
    instance together, not per process; within one process the waiters for
    a key queue on a lock, so one of them at a time asks the database.
    A `rate` of 0 means no limit, only pauses.
    """

    def __init__(
        self,
        db: Database,
        rate: float,
        burst: int = 1,
        *,
        prefix: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.rate = rate
        self.burst = max(1, burst)
        self.prefix = prefix
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._paused_until: dict[str, float] = {}

    async def wait(self, key: str) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            while True:
                delay = await self._take_or_delay(key)
                if delay <= 0:
                    return
                await asyncio.sleep(delay)

    async def _take_or_delay(self, key: str) -> float:
        if self.rate <= 0:
            return await self.paused_for(key)
        async with self.db.transaction() as session:
            return await ratelimits.acquire(
                session,
                self.prefix + key,
                now=self.clock(),
                interval=1.0 / self.rate,
                burst=self.burst,
            )

    async def pause(self, key: str, seconds: float) -> None:
        now = self.clock()
        tolerance = (self.burst - 1) / self.rate if self.rate > 0 else 0.0
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), now + seconds)
        async with self.db.transaction() as session:
            await ratelimits.pause(session, self.prefix + key, now=now, seconds=seconds + tolerance)

    async def paused_for(self, key: str) -> float:
        """Seconds `key` is paused for, by this instance or another (0 if it is not)."""
        now = self.clock()
        local = self._paused_until.get(key, 0.0) - now
        if local > 0:
            return local
        async with self.db.sessions() as session:
            shared = await ratelimits.paused_for(session, self.prefix + key, now=now)
        if self.rate > 0:
            shared -= (self.burst - 1) / self.rate
        return max(0.0, shared)


class Worker(ABC):
    """Runs `run_once` whenever woken or every `poll_interval` seconds."""

    name = "worker"

    def __init__(self, wakeup: asyncio.Event, *, poll_interval: float = 1.0) -> None:
        self.wakeup = wakeup
        self.poll_interval = poll_interval

    @abstractmethod
    async def run_once(self) -> int:
        """Deliver what is due now; return how many items were handled."""

    @abstractmethod
    async def seconds_to_next(self) -> float | None:
        """Seconds until the next waiting item is due (0 if due now), None if idle."""

    async def run_forever(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bad row or a database hiccup must not kill the worker.
                log.exception("%s: delivery round failed", self.name)
                handled = 0
            if handled:
                continue
            self.wakeup.clear()
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass

    async def drain(self, timeout: float = 30.0) -> None:
        """Run until nothing is waiting (tests, the demo, the CLI)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    if await self.run_once():
                        continue
                    wait = await self.seconds_to_next()
                    if wait is None:
                        return
                    await asyncio.sleep(max(wait, 0.01))
        except TimeoutError:
            raise TimeoutError(f"{self.name} still had work after {timeout:.0f}s") from None


async def gather_limited(
    items: Iterable[T], work: Callable[[T], Awaitable[None]], limit: int
) -> None:
    """Run `work` over `items`, at most `limit` at a time, logging each failure."""
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> None:
        async with semaphore:
            try:
                await work(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery of %r failed", item)

    await asyncio.gather(*(one(i) for i in items))

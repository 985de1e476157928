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

log = logging.getLogger(__name__)

T = TypeVar("T")


class Pacer:
    """A token bucket per key (a Slack channel, the SMS sender).

    `rate` tokens a second, at most `burst` saved up; `wait(key)` returns
    once a token is free. `pause(key, seconds)` honours a Retry-After.
    """

    def __init__(self, rate: float, burst: int = 1) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, key: str) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            while True:
                delay = self._take_or_delay(key)
                if delay <= 0:
                    return
                await asyncio.sleep(delay)

    def _take_or_delay(self, key: str) -> float:
        now = time.monotonic()
        paused = self._paused_until.get(key, 0.0) - now
        if paused > 0:
            return paused
        if self.rate <= 0:
            return 0.0
        tokens = self._tokens.get(key, float(self.burst))
        tokens = min(float(self.burst), tokens + (now - self._stamp.get(key, now)) * self.rate)
        self._stamp[key] = now
        if tokens >= 1.0:
            self._tokens[key] = tokens - 1.0
            return 0.0
        self._tokens[key] = tokens
        return (1.0 - tokens) / self.rate

    def pause(self, key: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), until)

    def paused_for(self, key: str) -> float:
        return max(0.0, self._paused_until.get(key, 0.0) - time.monotonic())


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

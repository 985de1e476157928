"""The shape shared by the outbox workers: poll, take, deliver, pace.

A worker owns no state that matters: every queue is rows in the database,
so a restarted worker (or a second one) carries on where the last stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable

from storage import ratelimits
from storage.db import Database

log = logging.getLogger(__name__)


class Pacer:
    """A rate per key (a Slack channel, the SMS sender), shared by every instance.

    `rate` requests a second per key, `burst` at once; `wait(key)` returns
    once a slot is taken. `pause(key, seconds)` honours a Retry-After. A
    `rate` of 0 means no limit, only pauses.

    When `shared` (the default on PostgreSQL, where several instances may
    run) the slots are rows (`storage.ratelimits`), so the rate holds across
    every instance together; within one process the waiters for a key queue
    on a lock, so one of them at a time asks the database. On SQLite, which
    serves one instance, the same algorithm runs in memory and costs no
    transaction per request.
    """

    def __init__(
        self,
        db: Database,
        rate: float,
        burst: int = 1,
        *,
        prefix: str = "",
        clock: Callable[[], float] = time.time,
        shared: bool | None = None,
    ) -> None:
        self.db = db
        self.shared = not db.is_sqlite if shared is None else shared
        self._tat: dict[str, float] = {}  # GCRA's state per key when not shared
        self.rate = rate
        self.burst = max(1, burst)
        self.prefix = prefix
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._paused_until: dict[str, float] = {}
        self._checked: dict[str, float] = {}
        self.recheck = 0.25

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
        if not self.shared:
            return self._take_here(key)
        async with self.db.transaction() as session:
            return await ratelimits.acquire(
                session,
                self.prefix + key,
                now=self.clock(),
                interval=1.0 / self.rate,
                burst=self.burst,
            )

    def _take_here(self, key: str) -> float:
        """`storage.ratelimits.acquire`, in memory."""
        now, interval = self.clock(), 1.0 / self.rate
        tolerance = (self.burst - 1) * interval
        tat = max(self._tat.get(key, now), self._paused_until.get(key, 0.0) + tolerance)
        if tat > now + tolerance:
            return tat - tolerance - now
        self._tat[key] = max(tat, now) + interval
        return 0.0

    async def pause(self, key: str, seconds: float) -> None:
        now = self.clock()
        tolerance = (self.burst - 1) / self.rate if self.rate > 0 else 0.0
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), now + seconds)
        if not self.shared:
            return
        async with self.db.transaction() as session:
            await ratelimits.pause(session, self.prefix + key, now=now, seconds=seconds + tolerance)

    async def paused_for(self, key: str) -> float:
        """Seconds a pause-only `key` (rate 0) is paused for, by this instance or
        another (0 if it is not).

        Another instance's pause is read from the database at most every
        `recheck` seconds, so a busy worker does not ask before every call.
        """
        now = self.clock()
        local = self._paused_until.get(key, 0.0) - now
        if local > 0:
            return local
        checked = self._checked.get(key)
        if not self.shared or (checked is not None and now - checked < self.recheck):
            return 0.0
        async with self.db.sessions() as session:
            shared = await ratelimits.paused_for(session, self.prefix + key, now=now)
        if shared > 0:
            self._paused_until[key] = now + shared
        else:
            self._checked[key] = now
        return max(0.0, shared)


class Urgency:
    """What must not wait behind background work: webhooks being answered, texts
    leaving for Twilio. While any is under way, the Slack outbox holds off starting
    its next call (for at most `patience` seconds), so on a busy event loop
    the member's text and the activist's click go first.
    """

    def __init__(self, patience: float = 0.25) -> None:
        self.patience = patience
        self._count = 0
        self._calm = asyncio.Event()
        self._calm.set()

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        self._count += 1
        self._calm.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._calm.set()

    async def calm(self) -> None:
        """Return once nothing urgent is under way, or after `patience` seconds."""
        if self._count == 0:
            return
        try:
            await asyncio.wait_for(self._calm.wait(), timeout=self.patience)
        except TimeoutError:
            pass


class Slots:
    """Work in flight, at most `size` at once, each slot refilled as soon as it ends.

    The outboxes run as pipelines, not rounds: one slow item (a channel at
    its rate, a Retry-After, a slow answer) holds up only its own slot.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._tasks: dict[asyncio.Task[None], int] = {}

    @property
    def free(self) -> int:
        self._tasks = {task: key for task, key in self._tasks.items() if not task.done()}
        return self.size - len(self._tasks)

    @property
    def busy(self) -> bool:
        return self.free < self.size

    def keys(self) -> set[int]:
        """What is in flight (the ids it was started with)."""
        return {key for task, key in self._tasks.items() if not task.done()}

    def start(self, key: int, work: Awaitable[None], *, ended: asyncio.Event) -> None:
        """Run `work` in a slot; a failure is logged (its row stays claimed and is
        taken again after the lease), and `ended` is set when it ends, since the
        next item of its conversation may then be due."""
        self._tasks[asyncio.ensure_future(self.guarded(key, work, ended))] = key

    @staticmethod
    async def guarded(key: int, work: Awaitable[None], ended: asyncio.Event) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox item %s could not finish", key)
        finally:
            ended.set()

    async def wait(self, wakeup: asyncio.Event, timeout: float) -> int:
        """Until a slot frees, `wakeup` is set or `timeout` passes; how many ended (>= 1)."""
        woken = asyncio.ensure_future(wakeup.wait())
        try:
            done, _ = await asyncio.wait(
                {*self._tasks, woken}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()
        return max(1, len(done - {woken}))

    async def stop(self, grace: float) -> None:
        """Give what is in flight `grace` seconds to end, then cancel the rest."""
        if self._tasks and grace > 0:
            await asyncio.wait(self._tasks, timeout=grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


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

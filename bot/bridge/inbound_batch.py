"""Group commit for members' texts: webhooks that arrive together share a transaction.

On a ballot night replies come in bursts. Stored one transaction each, the
webhooks queue for the database one behind another (on SQLite, for its one
writer), and each pays its own commit. Here a webhook hands its text to the
`InboundBatcher` and waits: the first one in starts a flush, which yields
once so the requests already in hand can join, then stores all waiting
texts in one transaction and one commit, and only then answers each of
them (persist, then acknowledge, as before). Texts that arrive meanwhile
wait for the next flush. One text alone is stored at once, as before.

If the shared transaction fails (another instance stored one of the SIDs a
moment earlier, or one text trips over something), each text is stored
again on its own, so one bad text fails alone and a duplicate is still
recognised as one.
"""

from __future__ import annotations

import asyncio
import logging

from bot.bridge.inbound import IncomingText, receive_one, store_texts
from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BATCH = 200
IN_FLIGHT = 2


class InboundBatcher:
    """`in_flight` flushes may run at once: on PostgreSQL the next batch is written
    while the last one commits; SQLite has one writer, so one is enough there."""

    def __init__(
        self, rt: Runtime, *, max_batch: int = MAX_BATCH, in_flight: int | None = None
    ) -> None:
        self.rt = rt
        self.max_batch = max_batch
        sqlite = rt.settings.database_url.startswith("sqlite")
        self.in_flight = in_flight or (1 if sqlite else IN_FLIGHT)
        self._waiting: list[tuple[IncomingText, asyncio.Future[bool]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._collecting = False

    async def receive(self, text: IncomingText) -> bool:
        """Store `text` (with whatever else arrives now); False if it was a duplicate.

        Returns once it is committed; raises if it could not be stored, so the
        webhook answers 5xx and Twilio tries again. A webhook whose caller hangs
        up stops waiting; its text is still stored with the rest.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((text, future))
        self._start_flush()
        return await future

    def _start_flush(self) -> None:
        if self._waiting and not self._collecting and len(self._running) < self.in_flight:
            self._collecting = True
            task = asyncio.create_task(self._flush())
            self._running.add(task)
            task.add_done_callback(self._flush_done)

    def _flush_done(self, task: asyncio.Task[None]) -> None:
        """A flush cancelled before it ever ran leaves its texts to a new one."""
        if task in self._running:
            self._running.discard(task)
            self._collecting = False
            self._start_flush()

    async def _flush(self) -> None:
        me = asyncio.current_task()
        try:
            try:
                await asyncio.sleep(0)  # let the requests already being read join
            finally:
                self._collecting = False
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                await self._settle(batch)
        finally:
            # Nothing awaits between the last look at `_waiting` and here, so a text
            # that came meanwhile finds this flush gone and starts its own.
            self._running.discard(me)
            self._start_flush()

    async def _settle(self, batch: list[tuple[IncomingText, asyncio.Future[bool]]]) -> None:
        """Store `batch` and answer each of its webhooks, whatever happens."""
        try:
            results = await self._store([text for text, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    if isinstance(exc, Exception):
                        future.set_exception(exc)
                    else:
                        future.cancel()
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _store(self, texts: list[IncomingText]) -> list[bool | Exception]:
        if len(texts) == 1:
            return [await receive_one(self.rt, texts[0])]
        now = self.rt.now()
        try:
            async with self.rt.db.transaction() as session:
                results: list[bool | Exception] = list(
                    await store_texts(session, self.rt, texts, now)
                )
        except Exception:
            log.info("a batch of %d texts failed together; storing each alone", len(texts))
            return [await self._alone(text) for text in texts]
        if any(results):
            self.rt.wake(sms=False)
        return results

    async def _alone(self, text: IncomingText) -> bool | Exception:
        try:
            return await receive_one(self.rt, text)
        except Exception as exc:
            log.exception("inbound %s could not be stored", text.sid)
            return exc

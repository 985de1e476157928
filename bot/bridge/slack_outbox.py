"""The Slack outbox worker: intents to Web API calls, in order, once.

Deliveries of one conversation run one at a time in the order they were
queued; different conversations run side by side. Posts are paced per
channel (Slack allows about one message a second in a channel), a 429 pauses
that method for its Retry-After, and every post carries metadata naming the
delivery, so a delivery retaken after a crash first looks for its own post
before posting again.

The outbox knows no feature. What a kind of delivery does is a handler in
the package that owns it, entered in a `Deliveries` table at start-up
(`bot.app.slack_deliveries`); the outbox looks the kind up there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bridge.slack_errors import Deferred, GaveUp, Held, classify
from bot.intents import Kind
from bot.runtime import Runtime
from bot.workers import Pacer, Slots, Worker
from storage import outbox, users
from storage.models import SlackDelivery

log = logging.getLogger(__name__)

METADATA_TYPE = "turnout_delivery"
MAX_ATTEMPTS = 8
Deliver = Callable[["SlackOutbox", SlackDelivery], Awaitable[None]]
# A write that belongs with a delivery's success, made in the transaction that marks it done.
Effect = Callable[[AsyncSession], Awaitable[None]]
# A delivery's outcome row, its effects, and the future its worker awaits.
_Finished = tuple[dict[str, Any], list[Effect], "asyncio.Future[None]"]


class Deliveries:
    """The kind -> handler table that the packages fill at start-up."""

    def __init__(self) -> None:
        self._handlers: dict[str, Deliver] = {}
        self._on_refusal: dict[str, Deliver] = {}

    def add(self, kind: Kind, handler: Deliver, *, on_refusal: Deliver | None = None) -> None:
        """Register what `kind` does; `on_refusal` runs when Slack refuses it for good."""
        if kind in self._handlers:
            raise ValueError(f"delivery kind {kind!r} is registered twice")
        self._handlers[kind] = handler
        if on_refusal is not None:
            self._on_refusal[kind] = on_refusal

    def handler(self, kind: str) -> Deliver:
        try:
            return self._handlers[kind]
        except KeyError:
            raise GaveUp(f"unknown delivery kind {kind!r}") from None

    def on_refusal(self, kind: str) -> Deliver | None:
        return self._on_refusal.get(kind)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)


class SlackOutbox(Worker):
    name = "slack-outbox"

    def __init__(
        self,
        rt: Runtime,
        deliveries: Deliveries,
        *,
        posts_per_second: float = 1.0,
        burst: int = 3,
        lease: timedelta = timedelta(minutes=2),
        batch: int = 50,
        concurrency: int = 64,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__(rt.slack_wakeup, poll_interval=poll_interval)
        self.rt = rt
        self.deliveries = deliveries
        # Slack's limits are the workspace's, so they live in the database and
        # hold across every instance: posts per channel, and a method's 429 pause.
        self.channels = Pacer(rt.db, posts_per_second, burst=burst, prefix="slack-channel:")
        self.methods = Pacer(rt.db, 0.0, prefix="slack-method:")
        self.lease = lease
        self.batch = batch
        self.slots = Slots(concurrency)
        # When this worker claimed each delivery in flight (its loop's clock).
        self._claimed_here: dict[int, float] = {}
        self._effects: dict[int, list[Effect]] = {}
        self._finishing: list[_Finished] = []
        self._finisher: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Claim what is due into free slots; while all is in flight, wait for a change."""
        self.wakeup.clear()
        free = self.slots.free
        if free > 0:
            claimed = await self._claim(min(free, self.batch), exclude=self.slots.keys())
            for delivery in claimed:
                self._claimed_here[delivery.id] = asyncio.get_running_loop().time()
                self.slots.start(delivery.id, self._deliver_one(delivery), ended=self.wakeup)
            if claimed:
                return len(claimed)
        if not self.slots.busy:
            return 0
        return await self.slots.wait(self.wakeup, self.poll_interval)

    async def _claim(self, limit: int, exclude: set[int] | None = None) -> list[SlackDelivery]:
        now, among, exclude = self.rt.now(), None, exclude or set()
        if self.rt.db.is_sqlite:  # look before taking the one write lock
            async with self.rt.db.sessions() as session:
                among = await outbox.due_ids(session, now, self.lease, limit, exclude=exclude)
            if not among:
                return []
        async with self.rt.db.transaction() as session:
            return await outbox.claim(session, now, self.lease, limit, among=among, exclude=exclude)

    async def run_round(self) -> int:
        """Claim what is due now and wait until those deliveries end (tests, the CLI)."""
        claimed = await self._claim(self.batch)
        await asyncio.gather(
            *(Slots.guarded(d.id, self._deliver_one(d), self.wakeup) for d in claimed)
        )
        return len(claimed)

    async def stop(self, grace: float = 5.0) -> None:
        """Give the deliveries in flight `grace` seconds to finish, then cancel the rest
        (their rows are taken again once the lease runs out)."""
        await self.slots.stop(grace)
        if self._finisher is not None:
            await asyncio.gather(self._finisher, return_exceptions=True)

    async def seconds_to_next(self) -> float | None:
        async with self.rt.db.sessions() as session:
            pending, sending = await outbox.next_due(session)
        now = self.rt.now()
        waits = []
        if pending is not None:
            waits.append((pending - now).total_seconds())
        if sending is not None:
            waits.append((sending + self.lease - now).total_seconds())
        return max(0.0, min(waits)) if waits else None

    def when_done(self, delivery: SlackDelivery, effect: Effect) -> None:
        """Run `effect` in the transaction that marks `delivery` done (one commit, not
        two); if the delivery does not succeed, it does not run."""
        self._effects.setdefault(delivery.id, []).append(effect)

    async def _deliver_one(self, delivery: SlackDelivery) -> None:
        try:
            await self._run_handler(delivery)
        finally:
            self._effects.pop(delivery.id, None)
            self._claimed_here.pop(delivery.id, None)

    async def _run_handler(self, delivery: SlackDelivery) -> None:
        try:
            await self.deliveries.handler(delivery.kind)(self, delivery)
        except Deferred as later:
            await self._finish(delivery, status="pending", error=later.reason, wait=later.seconds)
            self.rt.metrics.delivered("slack", delivery.kind, "retried", "deferred")
        except GaveUp as refused:
            await self._finish(delivery, status="failed", error=str(refused))
            self.rt.metrics.delivered("slack", delivery.kind, "failed", "refused")
            on_refusal = self.deliveries.on_refusal(delivery.kind)
            if on_refusal is not None:
                delivery.last_error = str(refused)
                await on_refusal(self, delivery)
        except Held as held:
            await self._finish(delivery, status="held", error=str(held))
            self.rt.metrics.delivered("slack", delivery.kind, "held")
        except Exception as bug:
            # Not Slack's doing: retrying the same code on the same row would fail the
            # same way, so it is parked as failed, with the traceback in the log.
            log.exception("slack delivery %s (%s) crashed", delivery.id, delivery.kind)
            await self._finish(delivery, status="failed", error=f"{type(bug).__name__}: {bug}")
            self.rt.metrics.delivered("slack", delivery.kind, "failed", "crashed")
        else:
            await self._finish(delivery, status="done")
            self.rt.metrics.delivered("slack", delivery.kind, "done")

    async def _finish(
        self, delivery: SlackDelivery, *, status: str, error: str | None = None, wait: float = 0
    ) -> None:
        """Record how the delivery ended (with its effects, if it succeeded).

        Deliveries ending at about the same moment share one transaction: each
        waits here until its outcome is committed. A crash before the commit
        leaves the row "sending", to be taken again after the lease (and a
        post is then found, not made twice).
        """
        now = self.rt.now()
        if status == "pending" and delivery.attempts >= MAX_ATTEMPTS:
            status = "failed"
            error = f"gave up after {delivery.attempts} attempts: {error}"
        effects = self._effects.pop(delivery.id, []) if status == "done" else []
        outcome = {
            "row_id": delivery.id,
            "claimed": delivery.claimed_at,
            "status": status,
            "last_error": error,
            "result_channel": delivery.result_channel,
            "result_ts": delivery.result_ts,
            "not_before": now + timedelta(seconds=wait)
            if status == "pending"
            else delivery.not_before,
            "done_at": now if status in ("done", "failed") else delivery.done_at,
        }
        committed = asyncio.get_running_loop().create_future()
        self._finishing.append((outcome, effects, committed))
        if self._finisher is None or self._finisher.done():
            self._finisher = asyncio.create_task(self._commit_finished())
        await committed
        if status == "failed":
            log.warning("slack delivery %s (%s) failed: %s", delivery.id, delivery.kind, error)

    async def _commit_finished(self) -> None:
        while self._finishing:
            await asyncio.sleep(0)  # let the deliveries ending in this tick join
            batch, self._finishing = self._finishing, []
            try:
                await self._commit(batch)
            except Exception:
                # One bad effect must not hold up the rest: each on its own, then.
                for item in batch:
                    await self._commit_alone(item)
            else:
                for _, _, committed in batch:
                    if not committed.done():  # its worker may have been cancelled
                        committed.set_result(None)

    async def _commit_alone(self, item: _Finished) -> None:
        outcome, _, committed = item
        try:
            await self._commit([item])
        except Exception as exc:
            # What the handler wrote cannot be saved: record the delivery as failed
            # without it, so its conversation's later deliveries are not held up.
            log.exception("slack delivery %s: its outcome could not be saved", outcome["row_id"])
            failed = {
                **outcome,
                "status": "failed",
                "last_error": f"its outcome could not be saved: {type(exc).__name__}: {exc}",
                "done_at": self.rt.now(),
            }
            try:
                await self._commit([(failed, [], committed)])
            except Exception as again:
                if not committed.done():
                    committed.set_exception(again)
                return
        if not committed.done():
            committed.set_result(None)

    async def _commit(self, batch: list[_Finished]) -> None:
        async with self.rt.db.transaction() as session:
            for _, effects, _ in batch:
                for effect in effects:
                    await effect(session)
            await outbox.finish(session, [outcome for outcome, _, _ in batch])

    async def dm_channel(self, user_id: str) -> str:
        """The app's DM channel with `user_id`, opened once and remembered."""
        async with self.rt.db.sessions() as session:
            known = await users.get(session, user_id)
        if known is not None and known.dm_channel_id:
            return known.dm_channel_id
        response = await self.call("conversations.open", users=user_id)
        channel = (response.get("channel") or {}).get("id")
        if not isinstance(channel, str):
            raise GaveUp("conversations.open gave no channel")
        async with self.rt.db.transaction() as session:
            await users.upsert(session, user_id, now=self.rt.now(), dm_channel_id=channel)
        return channel

    async def call(self, method: str, *, paced: bool = False, **params: Any) -> AsyncSlackResponse:
        """One Web API call, with 429s and transient errors turned into Deferred;
        `paced` when the caller has already given way and waited for the channel's turn."""
        if not paced:
            await self.rt.urgent.calm()  # a webhook or a text under way goes first
        paused = await self.methods.paused_for(method)
        if paused > 0:
            raise Deferred(paused, f"{method} rate limited")
        channel = params.get("channel")
        if method == "chat.postMessage" and isinstance(channel, str) and not paced:
            await self.channels.wait(channel)
        sdk_method = getattr(self.rt.slack, method.replace(".", "_"))
        try:
            response: AsyncSlackResponse = await sdk_method(**params)
            return response
        except SlackApiError as exc:
            refusal = classify(method, exc)
            if isinstance(refusal, Deferred) and refusal.rate_limited:
                await self.methods.pause(method, refusal.seconds)
            raise refusal from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Deferred(2.0, f"{method}: {type(exc).__name__}") from exc

    async def post_once(
        self,
        delivery: SlackDelivery,
        key: str,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """chat.postMessage tagged with `key`; after a crash, find the post instead.

        Returns the message ts.
        """
        if delivery.attempts > 1:
            found = await self._find_posted(channel, key, thread_ts)
            if found is not None:
                log.info(
                    "delivery %s: found its earlier post %s; not posting again", delivery.id, found
                )
                return found
        params: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "metadata": {"event_type": METADATA_TYPE, "event_payload": {"key": key}},
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if blocks is not None:
            params["blocks"] = blocks
        if thread_ts is not None:
            params["thread_ts"] = thread_ts
        # Give way before taking the channel's turn, not after: a post held back
        # once its turn is taken would land right before the next one.
        await self.rt.urgent.calm()
        await self.channels.wait(channel)
        claimed = self._claimed_here.get(delivery.id)
        if claimed is not None and asyncio.get_running_loop().time() - claimed > 0.5 * (
            self.lease.total_seconds()
        ):
            await self._renew(delivery)
        response = await self.call("chat.postMessage", paced=True, **params)
        ts = response.get("ts")
        assert isinstance(ts, str)
        return ts

    async def _renew(self, delivery: SlackDelivery) -> None:
        """Hold the claim for another lease after a long wait for the channel; if another
        worker took the delivery over meanwhile, leave the post to it."""
        now = self.rt.now()
        async with self.rt.db.transaction() as session:
            renewed = await outbox.renew(session, delivery.id, delivery.claimed_at, now)
        if not renewed:
            # Recording this outcome changes nothing: the claim is no longer ours.
            raise Deferred(0.0, "taken over by another worker while waiting for the channel")
        delivery.claimed_at = now
        self._claimed_here[delivery.id] = asyncio.get_running_loop().time()

    async def _find_posted(self, channel: str, key: str, thread_ts: str | None) -> str | None:
        if thread_ts is not None:
            response = await self.call(
                "conversations.replies",
                channel=channel,
                ts=thread_ts,
                include_all_metadata=True,
                limit=200,
            )
        else:
            response = await self.call(
                "conversations.history", channel=channel, include_all_metadata=True, limit=100
            )
        for message in response.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if (
                message.get("metadata", {}).get("event_type") == METADATA_TYPE
                and payload.get("key") == key
            ):
                ts = message.get("ts")
                return ts if isinstance(ts, str) else None
        return None


__all__ = ["Deferred", "Deliver", "Deliveries", "GaveUp", "Held", "Kind", "SlackOutbox"]

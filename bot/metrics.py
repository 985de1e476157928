"""`GET /metrics`: Prometheus text format, for the people watching a ballot night.

Two kinds of figure. Counters and the latency histogram belong to this
process (Prometheus sums them over instances): deliveries by outbox, kind
and result, failures by reason, texts a gateway accepted, how long each
endpoint took to answer. Gauges are read from the database at each scrape
(`storage.metrics`), so every instance reports the same queues: outbox
depth and the oldest row's age per kind, and replies waiting for an answer.
Labels are bounded: kinds, routes, gateways and short reason words, never
an error's text.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from storage import metrics as stored
from storage.db import Database

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    """One process's registry; `Runtime.metrics` holds it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.deliveries = Counter(
            "turnout_deliveries",
            "Outbox deliveries finished, by outbox, kind and result",
            ["outbox", "kind", "result"],
            registry=r,
        )
        self.failures = Counter(
            "turnout_delivery_failures",
            "Deliveries that failed or were put off, by outbox and reason",
            ["outbox", "reason"],
            registry=r,
        )
        self.texts_sent = Counter(
            "turnout_texts_sent",
            "Texts a gateway accepted, by gateway (twilio or simulated)",
            ["gateway"],
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "turnout_webhook_seconds",
            "Time to answer an HTTP request, by route",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "turnout_outbox_depth",
            "Rows waiting in an outbox (pending, being sent, held), by kind",
            ["outbox", "kind"],
            registry=r,
        )
        self.outbox_oldest = Gauge(
            "turnout_outbox_oldest_age_seconds",
            "Age of the oldest row waiting in an outbox, by kind",
            ["outbox", "kind"],
            registry=r,
        )
        self.replies_waiting = Gauge(
            "turnout_replies_waiting",
            "Members' texts in owned conversations still waiting for an answer",
            registry=r,
        )

    def delivered(self, outbox: str, kind: str, result: str, reason: str | None = None) -> None:
        self.deliveries.labels(outbox, kind, result).inc()
        if reason is not None:
            self.failures.labels(outbox, reason).inc()

    async def render(self, db: Database, now: datetime) -> bytes:
        """The exposition text, with the database gauges read now."""
        async with db.sessions() as session:
            queues = await stored.queues(session)
            waiting = await stored.replies_waiting(session)
        self.outbox_depth.clear()
        self.outbox_oldest.clear()
        for queue in queues:
            self.outbox_depth.labels(queue.outbox, queue.kind).set(queue.depth)
            age = max(0.0, (now - queue.oldest).total_seconds())
            self.outbox_oldest.labels(queue.outbox, queue.kind).set(age)
        self.replies_waiting.set(waiting)
        return bytes(generate_latest(self.registry))

    def middleware(self) -> Middleware:
        """An aiohttp middleware timing every request by its route (not its raw path)."""

        @web.middleware
        async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
            start = time.perf_counter()
            try:
                return await handler(request)
            finally:
                resource = request.match_info.route.resource
                route = resource.canonical if resource is not None else "unmatched"
                self.webhook_seconds.labels(route, request.method).observe(
                    time.perf_counter() - start
                )

        return timed


CONTENT_TYPE = CONTENT_TYPE_LATEST

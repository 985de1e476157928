"""The objects every part of the domain is handed: settings, database, clients.

Built once by the app factory (or by a test, or the demo) and passed down;
nothing in the domain imports a global client or connects at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.bridge.sms_gateway import SmsGateway, is_simulated_sid
from bot.config import Settings
from bot.metrics import Metrics
from bot.workers import Urgency
from storage.db import Database

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    slack: AsyncWebClient
    # Twilio, or simulated members with SMS_BACKEND=sandbox.
    sms: SmsGateway
    # Simulated members, whatever the backend: where practice texts go.
    practice_sms: SmsGateway
    clock: Clock = utcnow
    # Set whenever a row is added to an outbox, so an in-process worker
    # starts at once instead of at its next poll.
    sms_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    slack_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # This process's counters and latencies, for GET /metrics.
    metrics: Metrics = field(default_factory=Metrics)
    # Webhooks and sends under way, which background Slack work gives way to.
    urgent: Urgency = field(default_factory=Urgency)

    def now(self) -> datetime:
        return self.clock()

    def gateway(self, *, practice: bool) -> SmsGateway:
        """Where a text goes: a practice text never reaches Twilio, whatever the backend."""
        return self.practice_sms if practice else self.sms

    def gateway_for_sid(self, sid: str) -> SmsGateway:
        return self.practice_sms if is_simulated_sid(sid) else self.sms

    def wake(self, *, sms: bool = True) -> None:
        """Start the in-process workers now; `sms=False` when only Slack has new work
        (an incoming text), so the SMS outbox does not poll for nothing."""
        if sms:
            self.sms_wakeup.set()
        self.slack_wakeup.set()

"""A whole Turnout wired to fake Slack and fake Twilio, on this machine.

The demo and the end-to-end tests run exactly this: the real Service, the
real slack_sdk and twilio clients, and local HTTP fakes standing in for the
two platforms. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.app import Service, WorkerOptions, make_runtime
from bot.config import Settings
from bot.fakes.slack import FakeSlack
from bot.fakes.twilio import FakeTwilio
from bot.runtime import Clock, Runtime, utcnow
from storage.db import migrate

PUBLIC_BASE_URL = "https://turnout.example.org"
SUPPORT_CHANNEL = "C0SUPPORT"
SIGNING_SECRET = "fake-signing-secret-for-local-tests"
ADMIN = "U0ADMIN"

# Fast pacing for tests and the demo; production keeps Slack's 1 post/s.
FAST = WorkerOptions(
    sms_rate_per_second=0,
    slack_posts_per_second=0,
    poll_interval=0.05,
    unknown_grace=timedelta(seconds=0.2),
    run_workers=False,
)
# Long enough for a loaded CI machine, short enough that a lost answer is quick.
SMS_TIMEOUT = 2.0


@dataclass
class World:
    slack: FakeSlack
    twilio: FakeTwilio
    service: Service

    @property
    def rt(self) -> Runtime:
        return self.service.rt

    @property
    def settings(self) -> Settings:
        return self.service.rt.settings

    @classmethod
    async def start(
        cls,
        database_url: str,
        *,
        options: WorkerOptions = FAST,
        clock: Clock = utcnow,
        run_migrations: bool = True,
        **overrides: Any,
    ) -> World:
        # Socket Mode: pass slack_app_token=DEFAULT_APP_TOKEN, the app-level token the fake
        # accepts (slack.app_token); apps.connections.open refuses any other.
        slack = FakeSlack(signing_secret=SIGNING_SECRET)
        twilio = FakeTwilio()
        await slack.start()
        await twilio.start()
        values: dict[str, Any] = {
            "database_url": database_url,
            "slack_bot_token": slack.bot_token,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.api_url,
            "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token,
            "twilio_from_number": twilio.phone_number,
            "twilio_api_url": twilio.api_url,
            "public_base_url": PUBLIC_BASE_URL,
            "support_channel_id": SUPPORT_CHANNEL,
            "admin_user_ids": ADMIN,
            "sms_backend": "twilio",
        }
        values.update(overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        if run_migrations:
            await asyncio.to_thread(migrate, database_url)
        service = Service(make_runtime(settings, clock=clock, sms_timeout=SMS_TIMEOUT), options)
        try:
            await service.start()
        except BaseException:  # e.g. Socket Mode refused: release ports, sessions, engine
            await service.stop()
            await twilio.stop()
            await slack.stop()
            raise
        twilio.public_base_url = PUBLIC_BASE_URL
        twilio.app_url = service.url
        return cls(slack=slack, twilio=twilio, service=service)

    async def restart(self) -> None:
        """Stop the service as a crash would (nothing drained) and start a new one."""
        old = self.service
        await old.stop()
        rt = make_runtime(old.rt.settings, clock=old.rt.clock, sms_timeout=SMS_TIMEOUT)
        self.service = Service(rt, old.options)
        await self.service.start()
        self.twilio.app_url = self.service.url

    async def stop(self) -> None:
        await self.service.stop()
        await self.twilio.stop()
        await self.slack.stop()

    async def drain(self, timeout: float = 30.0) -> None:
        await self.service.drain(timeout)

    async def simulate(self, timeout: float = 30.0) -> int:
        """Simulated members do all that is due by the clock's now; then both outboxes drain.

        Repeats until nothing more is due, as a delivery report or reply can
        lead to more (a STOP's confirmation, say). Returns what was played.
        """
        played = 0
        while True:
            await self.drain(timeout)
            now_played = await self.service.simulator.run_due()
            if not now_played:
                return played
            played += now_played

    # -- what people do ----------------------------------------------------------

    async def member_texts(self, phone: str, body: str, **kwargs: Any) -> tuple[int, str]:
        """A member's phone sends an SMS to the campaign number."""
        return await self.twilio.send_inbound(
            self.service.url + "/twilio/inbound",
            from_=phone,
            body=body,
            signed_url=PUBLIC_BASE_URL + "/twilio/inbound",
            **kwargs,
        )

    async def activist_writes(
        self, user: str, channel: str, thread_ts: str, text: str, **kwargs: Any
    ) -> tuple[int, str]:
        """An activist types a reply in a conversation thread in their DM."""
        event = self.slack.post_as_user(channel, user, text, thread_ts=thread_ts)
        return await self.slack.send_event(self.service.url + "/slack/events", event, **kwargs)

    async def click(self, user: str, action_id: str, value: str, **kwargs: Any) -> tuple[int, str]:
        return await self.slack.send_block_action(
            self.service.url + "/slack/events",
            user_id=user,
            action_id=action_id,
            value=value,
            **kwargs,
        )

    async def deliver_all(self, status: str = "delivered") -> None:
        """Twilio reports every message it holds as `status` (e.g. delivered)."""
        for message in list(self.twilio.messages):
            if message["status"] not in ("delivered", "failed", "undelivered"):
                await self.twilio.deliver(message["sid"], status)

    def now(self) -> datetime:
        return self.rt.now()

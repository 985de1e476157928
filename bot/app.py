"""The app factory: builds clients, Bolt, the web server and the workers.

Only wiring lives here. `Service` is what `turnout serve`, the demo and the
end-to-end tests all run, so they exercise the same assembly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from aiohttp.typedefs import Middleware
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import handlers.health
import handlers.slack
import handlers.twilio
from bot.bridge import notices, sms_states, support_posts, threads
from bot.bridge.slack_outbox import Deliveries, SlackOutbox
from bot.bridge.sms_gateway import SmsGateway, TwilioGateway
from bot.bridge.sms_outbox import SmsOutbox
from bot.campaigns import home
from bot.campaigns.sending import texting_hours_check
from bot.config import Settings
from bot.exports import export
from bot.metrics import Handler
from bot.practice.simulator import SimulatedPhones, Simulator
from bot.roster import upload_jobs
from bot.runtime import Clock, Runtime, utcnow
from bot.sweeps import digest_post
from bot.sweeps.runner import schedule
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class WorkerOptions:
    """Tuning of the outbox workers; the defaults are production's."""

    sms_rate_per_second: float = 10.0
    slack_posts_per_second: float = 1.0
    slack_burst: int = 3
    poll_interval: float = 1.0
    # How long a send whose answer never came waits before it is looked up.
    unknown_grace: timedelta = timedelta(seconds=20)
    run_workers: bool = True


def slack_deliveries() -> Deliveries:
    """What each kind of Slack delivery does, from the packages that own them."""
    deliveries = Deliveries()
    for package in (threads, sms_states, notices, support_posts, home, upload_jobs, export):
        package.register(deliveries)
    digest_post.register(deliveries)
    return deliveries


def make_gateway(settings: Settings, *, timeout: float = 15.0) -> TwilioGateway:
    token = settings.twilio_auth_token
    return TwilioGateway(
        account_sid=settings.twilio_account_sid or "",
        auth_token=token.get_secret_value() if token else "",
        messaging_service_sid=settings.twilio_messaging_service_sid,
        from_number=settings.twilio_from_number,
        api_url=settings.twilio_api_url,
        timeout=timeout,
    )


def make_runtime(
    settings: Settings, *, clock: Clock = utcnow, sms_timeout: float = 15.0
) -> Runtime:
    """Clients and database for `settings`; call inside a running event loop.

    Simulated members are always there, for practice; with SMS_BACKEND=sandbox
    they take every text, and no Twilio client is made at all.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    slack = AsyncWebClient(token=token, base_url=settings.slack_api_url)
    db = Database(settings.database_url)
    simulated = SimulatedPhones(db, clock, settings.reply_delay_range)
    sms: SmsGateway = (
        simulated
        if settings.sms_backend == "sandbox"
        else make_gateway(settings, timeout=sms_timeout)
    )
    return Runtime(
        settings=settings, db=db, slack=slack, sms=sms, practice_sms=simulated, clock=clock
    )


def make_bolt(rt: Runtime) -> AsyncApp:
    secret = rt.settings.slack_signing_secret
    app = AsyncApp(
        client=rt.slack,
        signing_secret=secret.get_secret_value() if secret else None,
        # Persist, then acknowledge: a listener's commit happens before the ack.
        process_before_response=True,
    )
    handlers.slack.register(app, rt)
    return app


def make_web_app(rt: Runtime, bolt: AsyncApp) -> web.Application:
    web_app = web.Application(middlewares=[rt.metrics.middleware(), _urgent(rt)])
    handlers.slack.mount(web_app, bolt)
    handlers.twilio.register(web_app, rt)
    handlers.health.register(web_app, rt)
    return web_app


def _urgent(rt: Runtime) -> Middleware:
    """While a request is being answered, background Slack work gives way."""

    @web.middleware
    async def urgent(request: web.Request, handler: Handler) -> web.StreamResponse:
        async with rt.urgent.hold():
            return await handler(request)

    return urgent


class Service:
    """A running Turnout: web server, outbox workers, optional Socket Mode."""

    def __init__(self, rt: Runtime, options: WorkerOptions | None = None) -> None:
        self.rt = rt
        self.options = options or WorkerOptions()
        self.bolt = make_bolt(rt)
        self.web_app = make_web_app(rt, self.bolt)
        opts = self.options
        self.sms_outbox = SmsOutbox(
            rt,
            rate_per_second=opts.sms_rate_per_second,
            unknown_grace=opts.unknown_grace,
            lease=timedelta(seconds=rt.settings.outbox_lease_seconds),
            poll_interval=opts.poll_interval,
        )
        self.sms_outbox.send_checks.append(texting_hours_check)
        self.slack_outbox = SlackOutbox(
            rt,
            slack_deliveries(),
            posts_per_second=opts.slack_posts_per_second,
            burst=opts.slack_burst,
            lease=timedelta(seconds=rt.settings.outbox_lease_seconds),
            poll_interval=opts.poll_interval,
        )
        self.simulator = Simulator(rt, poll_interval=opts.poll_interval)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._socket_mode: object | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await self.rt.db.require_migrated()
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        if self.options.run_workers:
            self._spawn(self.sms_outbox.run_forever(), "sms-outbox")
            self._spawn(self.slack_outbox.run_forever(), "slack-outbox")
            self._spawn(self.simulator.run_forever(), "simulated-members")
            self.scheduler = schedule(self.rt)
            self.scheduler.start()
        if self.rt.settings.socket_mode:
            await self._start_socket_mode()
        log.info("Turnout listening on %s:%s", host, self.port)

    async def _start_socket_mode(self) -> None:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
        from slack_sdk.errors import SlackApiError

        token = self.rt.settings.slack_app_token
        assert token is not None
        handler = AsyncSocketModeHandler(self.bolt, token.get_secret_value())
        # slack_sdk retries a refused apps.connections.open forever; fail start() instead.
        try:
            handler.client.wss_uri = await handler.client.issue_new_wss_url()
        except SlackApiError as exc:
            await handler.close_async()  # type: ignore[no-untyped-call]
            raise RuntimeError(
                f"Socket Mode: Slack refused apps.connections.open ({exc.response.get('error')});"
                " SLACK_APP_TOKEN must be the app-level token (xapp-...) with connections:write"
            ) from exc
        await handler.connect_async()  # type: ignore[no-untyped-call]
        self._socket_mode = handler

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s stopped", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float = 30.0) -> None:
        """Deliver everything queued, both outboxes, until both are idle."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await self.sms_outbox.drain(timeout=max(0.1, deadline - loop.time()))
            await self.slack_outbox.drain(timeout=max(0.1, deadline - loop.time()))
            if (
                await self.sms_outbox.seconds_to_next() is None
                and await self.slack_outbox.seconds_to_next() is None
            ):
                return
        raise TimeoutError("outboxes still busy")

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self.slack_outbox.stop()
        await self.sms_outbox.stop()
        if self._socket_mode is not None:
            await self._socket_mode.close_async()  # type: ignore[attr-defined]
        if self._runner is not None:
            await self._runner.cleanup()
        await self.rt.sms.close()
        await self.rt.db.dispose()

"""A local Twilio: the Messages REST API, signed status callbacks and inbound webhooks.

The real ``twilio`` client talks to it over HTTP (the app rewrites ``https://api.twilio.com``
to ``api_url``), so the app's error handling meets genuine ``TwilioRestException`` objects and
its webhook handlers meet genuine ``X-Twilio-Signature`` headers. Faults model what matters
for "never text a member twice": refusals, 429s, 500s, and a send whose response is lost
although Twilio created the message.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.fakes._twilio_resources import (
    API_VERSION,
    ERROR_MESSAGES,
    JSON,
    Fault,
    error_body,
    inbound_params,
    list_page,
    new_sid,
    num_segments,
    resource,
    status_params,
    validate_create,
)

__all__ = ["FakeTwilio"]

log = logging.getLogger(__name__)
FINAL = ("delivered", "undelivered", "failed", "read", "canceled")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FakeTwilio:
    """One Twilio account with one phone number, served on an ephemeral local port."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "fake-twilio-auth-token",  # noqa: S107 - a fake's well-known default
        phone_number: str = "+447700900000",
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phone_number = phone_number
        self.clock = clock
        self.messages: list[JSON] = []
        self.inbound: list[JSON] = []
        self.requests: list[JSON] = []
        # When both are set, callbacks to public_base_url... go to app_url... instead, still
        # signed for the public URL: the app checks signatures against its PUBLIC_BASE_URL.
        self.public_base_url: str | None = None
        self.app_url: str | None = None
        self.auto_status: list[str] | None = None
        self.auto_status_delay = 0.02
        self._faults: list[Fault] = []
        self._held: set[asyncio.Task[Any]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._base = ""

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        messages = f"/{API_VERSION}/Accounts/{{account}}/Messages"
        app.router.add_post(messages + ".json", self._create)
        app.router.add_get(messages + ".json", self._list)
        app.router.add_get(messages + "/{sid}.json", self._fetch)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self._base = f"http://{bound_host}:{bound_port}"
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        """Cancel pending callbacks and drop swallowed requests, so stopping never hangs."""
        for task in [*self._tasks, *self._held]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """The prefix that replaces ``https://api.twilio.com``; no trailing slash."""
        if not self._base:
            raise RuntimeError("FakeTwilio.start() has not been awaited")
        return self._base

    async def settle(self) -> None:
        """Wait until every automatic status callback has been sent."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- fault injection (each applies to the next ``times`` message creations) ------------

    def fail_next(
        self, code: int, *, status: int = 400, message: str | None = None, times: int = 1
    ) -> None:
        """Refuse creation with Twilio error ``code`` (21610, 21211, 21614...); nothing is
        created. ``message`` defaults to Twilio's wording for the code."""
        self._faults.append(Fault("error", times, status, code, message))

    def rate_limit(self, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer 429 (code 20429) with ``Retry-After``; nothing is created."""
        self._faults.append(Fault("error", times, 429, 20429, retry_after=retry_after))

    def server_error(self, times: int = 1) -> None:
        """Answer 500 (code 20500); nothing is created."""
        self._faults.append(Fault("error", times, 500, 20500))

    def swallow_response(self, times: int = 1) -> None:
        """Create the message but never answer: the send's outcome is unknown to the app."""
        self._faults.append(Fault("swallow", times))

    # -- inspection ----------------------------------------------------------------------

    def sent_to(self, phone: str) -> list[JSON]:
        return [m for m in self.messages if m["to"] == phone]

    def message(self, sid: str) -> JSON:
        found = next((m for m in [*self.messages, *self.inbound] if m["sid"] == sid), None)
        if found is None:
            raise KeyError(f"no message {sid}")
        return found

    # -- Twilio calling the app ----------------------------------------------------------

    async def deliver(
        self,
        sid: str,
        status: str = "delivered",
        *,
        error_code: int | None = None,
        url: str | None = None,
    ) -> int:
        """Move a message to ``status`` and send its status callback; returns the app's HTTP
        status, or 0 if the message has no StatusCallback and no ``url`` was given (Twilio
        then calls nobody)."""
        record = self.message(sid)
        self._set_status(record, status, error_code)
        target = url or record["status_callback"]
        if not target:
            return 0
        params = status_params(record, self.phone_number, error_code)
        code, _ = await self._post_signed(target, params, target, self.auth_token)
        return code

    async def send_inbound(
        self,
        url: str,
        *,
        from_: str,
        body: str,
        to: str | None = None,
        message_sid: str | None = None,
        opt_out_type: str | None = None,
        signed_url: str | None = None,
        forge: bool = False,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """A member's SMS arriving: POST Twilio's incoming-message webhook form to ``url``,
        signed for ``signed_url`` (default ``url``); ``forge`` signs with a wrong token."""
        to = to or self.phone_number
        sid = message_sid or new_sid()
        params = inbound_params(self.account_sid, sid, to=to, from_=from_, body=body)
        if opt_out_type is not None:
            params["OptOutType"] = opt_out_type
        params.update(extra or {})
        record = self._record(sid=sid, to=to, from_=from_, body=body, direction="inbound")
        record.update(status="received", date_sent=record["date_created"])
        self.inbound.append(record)
        token = self.auth_token + ("-forged" if forge else "")
        return await self._post_signed(url, params, signed_url or url, token)

    async def send_status(
        self,
        url: str,
        params: dict[str, str],
        *,
        signed_url: str | None = None,
        forge: bool = False,
    ) -> tuple[int, str]:
        """POST arbitrary status-callback ``params``, signed (or forged) like Twilio."""
        token = self.auth_token + ("-forged" if forge else "")
        return await self._post_signed(url, params, signed_url or url, token)

    # -- REST API ------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        form = await self._receive(request)
        if (denied := self._deny(request)) is not None:
            return denied
        fault = self._take_fault()
        if fault is not None and fault.kind == "error":
            body = error_body(
                fault.code,
                fault.status,
                fault.message,
                to=form.get("To", ""),
                from_=form.get("From", ""),
            )
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
            return web.json_response(body, status=fault.status, headers=headers)
        if (invalid := validate_create(form, self.phone_number)) is not None:
            return web.json_response(invalid, status=400)
        service = form.get("MessagingServiceSid")
        record = self._record(
            sid=new_sid(),
            to=form["To"],
            from_=None if service else form["From"],
            body=form["Body"],
            direction="outbound-api",
        )
        record.update(
            status="accepted" if service else "queued",
            messaging_service_sid=service,
            status_callback=form.get("StatusCallback"),
        )
        self.messages.append(record)
        if self.auto_status:
            self._spawn(self._auto_advance(record["sid"], list(self.auto_status)))
        if fault is not None:  # swallow: Twilio has the message; the answer never comes
            await self._hold()
        return web.json_response(resource(record), status=201)

    async def _list(self, request: web.Request) -> web.Response:
        await self._receive(request)
        if (denied := self._deny(request)) is not None:
            return denied
        page = list_page([*self.messages, *self.inbound], dict(request.query), request.path)
        return web.json_response(page)

    async def _fetch(self, request: web.Request) -> web.Response:
        await self._receive(request)
        if (denied := self._deny(request)) is not None:
            return denied
        sid = request.match_info["sid"]
        found = [m for m in [*self.messages, *self.inbound] if m["sid"] == sid]
        if not found:
            return self._error(error_body(20404, 404, path=request.path))
        return web.json_response(resource(found[0]))

    async def _not_found(self, request: web.Request) -> web.Response:
        await self._receive(request)
        return self._error(error_body(20404, 404, path=request.path))

    # -- internals -----------------------------------------------------------------------

    async def _receive(self, request: web.Request) -> dict[str, str]:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "form": form,
                "at": self.clock(),
            }
        )
        return form

    def _deny(self, request: web.Request) -> web.Response | None:
        """HTTP Basic with the account sid and auth token, as Twilio checks them."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            login = password = ""
        good = scheme.lower() == "basic" and all(
            secrets.compare_digest(given.encode(), wanted.encode())
            for given, wanted in ((login, self.account_sid), (password, self.auth_token))
        )
        if not good:
            return self._error(error_body(20003, 401))
        if request.match_info.get("account") != self.account_sid:
            return self._error(error_body(20404, 404, path=request.path))
        return None

    def _error(self, body: JSON) -> web.Response:
        return web.json_response(body, status=int(body["status"]))

    def _take_fault(self) -> Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.pop(0)
        return fault

    async def _hold(self) -> None:
        """Park the request until the client gives up or stop() cancels it."""
        task = asyncio.current_task()
        if task is not None:
            self._held.add(task)
        try:
            await asyncio.Event().wait()
        finally:
            self._held.discard(task)

    def _record(self, *, sid: str, to: str, from_: str | None, body: str, direction: str) -> JSON:
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        self._seq += 1
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from_": from_,
            "messaging_service_sid": None,
            "body": body,
            "status": "queued",
            "status_callback": None,
            "direction": direction,
            "error_code": None,
            "error_message": None,
            "num_segments": num_segments(body),
            "price": None,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "seq": self._seq,
        }

    def _set_status(self, record: JSON, status: str, error_code: int | None) -> None:
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        record.update(status=status, date_updated=now)
        if status in ("sending", "sent", *FINAL):
            record["from_"] = record["from_"] or self.phone_number
        if status in ("sent", *FINAL) and record["date_sent"] is None:
            record["date_sent"] = now
        if error_code is not None:
            record["error_code"] = error_code
            record["error_message"] = ERROR_MESSAGES.get(error_code)

    async def _auto_advance(self, sid: str, statuses: list[str]) -> None:
        for status in statuses:
            await asyncio.sleep(self.auto_status_delay)
            await self.deliver(sid, status)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("fake Twilio status callback failed", exc_info=exc)

    def _route(self, url: str) -> str:
        """Where a URL Twilio was given actually reaches the app (see ``public_base_url``)."""
        public, app = self.public_base_url, self.app_url
        if public and app and url.startswith(public.rstrip("/")):
            return app.rstrip("/") + url[len(public.rstrip("/")) :]
        return url

    async def _post_signed(
        self, url: str, params: dict[str, str], signed_url: str, token: str
    ) -> tuple[int, str]:
        if self._session is None:
            raise RuntimeError("FakeTwilio.start() has not been awaited")
        headers = {
            "X-Twilio-Signature": RequestValidator(token).compute_signature(signed_url, params),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": "TwilioProxy/1.1",
        }
        async with self._session.post(self._route(url), data=params, headers=headers) as reply:
            return reply.status, await reply.text()

"""Where SMS go: Twilio's REST API (simulated members live in `bot.practice`).

The domain sees one small interface and three outcomes: accepted (with a
message SID), rejected (Twilio said no, with a code), or fate unknown (the
request may have left but no answer came back, so it must not be resent
until it has been looked up).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.bridge.twilio_errors import describe, is_retryable

log = logging.getLogger(__name__)

TWILIO_DEFAULT_BASE = "https://api.twilio.com"
# Message SIDs of simulated phones start so; Twilio's are "SM" and hex digits.
SIMULATED_SID_PREFIX = "SMsim"

_last_headers: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
    "twilio_last_headers"
)


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str
    error_code: int | None = None


class SmsRejected(Exception):
    """Twilio answered and refused the message."""

    def __init__(
        self, code: int | None, http_status: int, reason: str, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.http_status = http_status
        self.reason = reason
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return is_retryable(self.code, self.http_status)


class SmsFateUnknown(Exception):
    """The request may have reached Twilio, but no answer came back."""


def is_simulated_sid(sid: str) -> bool:
    return sid.startswith(SIMULATED_SID_PREFIX)


class SmsGateway(Protocol):
    async def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult: ...

    async def find_sent(self, *, to: str, body: str, since: datetime) -> list[SendResult]: ...

    async def fetch(self, sid: str) -> SendResult | None: ...

    async def close(self) -> None: ...


class _RoutedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's own async client, pointed at TWILIO_API_URL, keeping headers.

    The twilio library raises TwilioRestException without the response
    headers, so Retry-After would be lost; the headers of the last response
    are kept in a context variable, which is private to the calling task.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base != TWILIO_DEFAULT_BASE and url.startswith(TWILIO_DEFAULT_BASE):
            url = self._base + url[len(TWILIO_DEFAULT_BASE) :]
        # The library takes a timeout but hands aiohttp timeout=None, which
        # disables every limit; a lost answer would then hang the worker.
        async with asyncio.timeout(self._timeout):
            response: Response = await super().request(method, url, *args, **kwargs)
        _last_headers.set({k.lower(): v for k, v in (response.headers or {}).items()})
        return response


class TwilioGateway:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str | None,
        from_number: str | None,
        api_url: str = TWILIO_DEFAULT_BASE,
        timeout: float = 15.0,
    ) -> None:
        self._http = _RoutedHttpClient(api_url, timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._sender: dict[str, str] = (
            {"messaging_service_sid": messaging_service_sid}
            if messaging_service_sid
            else {"from_": from_number or ""}
        )

    async def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        extra = {"status_callback": status_callback} if status_callback else {}
        try:
            msg = await self._client.messages.create_async(
                to=to, body=body, **self._sender, **extra
            )
        except TwilioRestException as exc:
            raise _rejected(exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SmsFateUnknown(f"{type(exc).__name__}: {exc}") from exc
        return SendResult(sid=msg.sid, status=msg.status or "queued")

    async def find_sent(self, *, to: str, body: str, since: datetime) -> list[SendResult]:
        """Messages to `to` with this body created since `since`, newest first."""
        try:
            found = await self._client.messages.list_async(to=to, limit=50)
        except TwilioRestException as exc:
            raise _rejected(exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SmsFateUnknown(str(exc)) from exc
        return [
            SendResult(msg.sid, msg.status, msg.error_code)
            for msg in found
            if msg.body == body and (msg.date_created is None or msg.date_created >= since)
        ]

    async def fetch(self, sid: str) -> SendResult | None:
        try:
            msg = await self._client.messages(sid).fetch_async()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise _rejected(exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SmsFateUnknown(str(exc)) from exc
        return SendResult(msg.sid, msg.status, msg.error_code)

    async def close(self) -> None:
        await self._http.close()


def _rejected(exc: TwilioRestException) -> SmsRejected:
    retry_after: float | None = None
    headers = _last_headers.get({})
    if "retry-after" in headers:
        try:
            retry_after = float(headers["retry-after"])
        except ValueError:
            retry_after = None
    code = int(exc.code) if exc.code is not None else None
    return SmsRejected(code, int(exc.status), describe(code, exc.msg), retry_after)

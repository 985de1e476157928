"""FakeTwilio against the real twilio client, RequestValidator and Twilio's OpenAPI spec.

The contract checks load ``shared/schemas/twilio-api/twilio_api_v2010.json`` so that the fake
cannot drift from Twilio's published shapes: every resource it serves must validate against
the Message schema (no unknown properties), and what a client sends must use the spec's
CreateMessage parameter names.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import jsonschema  # type: ignore[import-untyped]
import pytest
from aiohttp import web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.fakes.twilio import FakeTwilio
from tests.conftest import shared_dir

# twilio 9 still hands aiohttp a BasicAuth object; that is the library's to fix, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:BasicAuth is deprecated:DeprecationWarning",
    "ignore:The 'auth' parameter is deprecated:DeprecationWarning",
)
_SHARED = shared_dir()
if _SHARED is None:
    pytest.skip(
        "Twilio's OpenAPI spec is in the shared folder, which was not found; "
        "set TURNOUT_SHARED_DIR to it",
        allow_module_level=True,
    )
SPEC_PATH = _SHARED / "schemas" / "twilio-api" / "twilio_api_v2010.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text())
MESSAGES_PATH = SPEC["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
CREATE_PARAMS = set(
    MESSAGES_PATH["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"][
        "properties"
    ]
)
MEMBER = "+447700900123"
PUBLIC = "https://turnout.example.org"


def _strict_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: inline $refs, turn ``nullable`` into a null type, and forbid
    properties the spec does not list."""
    if isinstance(node, list):
        return [_strict_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        return _strict_schema(SPEC["components"]["schemas"][name])
    out = {k: _strict_schema(v) for k, v in node.items() if k not in ("nullable", "x-twilio")}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if node.get("type") == "object" and "properties" in node:
        out["additionalProperties"] = False
    return out


MESSAGE_SCHEMA = _strict_schema(SPEC["components"]["schemas"]["api.v2010.account.message"])
_LIST_RESPONSE = MESSAGES_PATH["get"]["responses"]["200"]["content"]["application/json"]
LIST_SCHEMA = _strict_schema(_LIST_RESPONSE["schema"])


class LocalHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Sends the twilio client's requests to the fake, and keeps the last raw response."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base
        self.last: Response | None = None

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        # The async client ignores its own timeout setting; enforce it around the call.
        url = url.replace("https://api.twilio.com", self.base, 1)
        async with asyncio.timeout(self.timeout):
            self.last = await super().request(method, url, *args, **kwargs)
        return self.last


class Receiver:
    """A stand-in for the app's webhooks: records forms and signatures."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/twilio/{hook}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.requests.append(
            {
                "path": request.path_qs,
                "form": form,
                "signature": request.headers.get("X-Twilio-Signature", ""),
            }
        )
        return web.Response(text="<Response/>", content_type="text/xml")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    twilio = FakeTwilio()
    await twilio.start()
    yield twilio
    await twilio.stop()


@pytest.fixture
async def http(fake: FakeTwilio) -> AsyncIterator[LocalHttpClient]:
    client = LocalHttpClient(fake.api_url, timeout=0.5)
    yield client
    await client.close()


@pytest.fixture
def client(fake: FakeTwilio, http: LocalHttpClient) -> Any:
    return Client(fake.account_sid, fake.auth_token, http_client=http)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = Receiver()
    await app.start()
    yield app
    await app.stop()


async def _send(client: Any, fake: FakeTwilio, body: str = "Hi Sam", **kw: Any) -> Any:
    params = {"to": MEMBER, "body": body, "from_": fake.phone_number, **kw}
    return await client.messages.create_async(**params)


async def _refused(client: Any, fake: FakeTwilio, **kw: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as info:
        await _send(client, fake, **kw)
    return info.value


# -- creating messages -------------------------------------------------------------------


async def test_create_matches_the_spec(fake: FakeTwilio, client: Any, http: Any) -> None:
    message = await _send(client, fake, status_callback=PUBLIC + "/twilio/status")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.from_) == ("queued", MEMBER, fake.phone_number)
    assert http.last.status_code == 201
    served = json.loads(http.last.text)
    jsonschema.validate(served, MESSAGE_SCHEMA)
    important = "sid account_sid to from body status direction date_created num_segments"
    important += " error_code error_message messaging_service_sid uri api_version"
    assert set(important.split()) <= set(served)
    assert served["direction"] == "outbound-api" and served["price"] is None
    assert parsedate_to_datetime(served["date_created"]).tzinfo is not None
    [record] = fake.messages
    assert record["sid"] == message.sid and record["status_callback"] == PUBLIC + "/twilio/status"
    assert record["date_created"].tzinfo is not None
    sent_form = fake.requests[-1]["form"]
    assert set(sent_form) <= CREATE_PARAMS
    assert sent_form["Body"] == "Hi Sam" and fake.requests[-1]["method"] == "POST"


async def test_messaging_service_is_accepted_without_from(fake: FakeTwilio, client: Any) -> None:
    service = "MG" + "1" * 32
    message = await client.messages.create_async(
        to=MEMBER, body="hi", messaging_service_sid=service
    )
    assert message.status == "accepted" and message.from_ is None
    assert fake.messages[0]["messaging_service_sid"] == service


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"to": "07700 900123"}, 21211),
        ({"body": ""}, 21602),
        ({"from_": "+447700900999"}, 21606),
        ({"body": "x" * 1601}, 21617),
    ],
)
async def test_validation(fake: FakeTwilio, client: Any, overrides: Any, code: int) -> None:
    error = await _refused(client, fake, **overrides)
    assert (error.status, error.code) == (400, code)
    assert fake.messages == []


async def test_bad_credentials(fake: FakeTwilio, http: LocalHttpClient) -> None:
    wrong = Client(fake.account_sid, "not-the-token", http_client=http)
    with pytest.raises(TwilioRestException) as info:
        await wrong.messages.create_async(to=MEMBER, body="x", from_=fake.phone_number)
    assert (info.value.status, info.value.code) == (401, 20003)
    assert json.loads(http.last.text if http.last else "{}")["message"] == "Authenticate"


def test_segment_estimate() -> None:
    from bot.fakes._twilio_resources import num_segments

    assert [num_segments("a" * 160), num_segments("a" * 161), num_segments("€" * 80)] == [1, 2, 1]
    assert num_segments("€" * 81) == 2  # extension characters cost two septets
    assert [num_segments("é" * 160), num_segments("ê" * 70), num_segments("ê" * 71)] == [1, 1, 2]
    assert num_segments("👍" * 35) == 1 and num_segments("👍" * 36) == 2  # UTF-16 pairs


# -- faults ----------------------------------------------------------------------------


async def test_fail_next(fake: FakeTwilio, client: Any) -> None:
    fake.fail_next(21610)
    error = await _refused(client, fake)
    assert (error.code, error.status) == (21610, 400)
    assert "unsubscribed" in error.msg
    assert fake.messages == []
    await _send(client, fake)
    assert len(fake.messages) == 1


async def test_rate_limit(fake: FakeTwilio, client: Any, http: LocalHttpClient) -> None:
    fake.rate_limit(retry_after=3, times=2)
    for _ in range(2):
        error = await _refused(client, fake)
        assert (error.status, error.code) == (429, 20429)
        assert http.last is not None and http.last.headers["Retry-After"] == "3"
    assert fake.messages == []
    await _send(client, fake)


async def test_server_error(fake: FakeTwilio, client: Any) -> None:
    fake.server_error()
    error = await _refused(client, fake)
    assert (error.status, error.code) == (500, 20500)
    assert fake.messages == []


async def test_swallowed_response(fake: FakeTwilio, client: Any) -> None:
    fake.swallow_response()
    with pytest.raises(TimeoutError):
        await _send(client, fake, body="did it go?")
    [record] = fake.messages
    found = await client.messages.list_async(to=MEMBER, limit=50)
    assert [m.sid for m in found] == [record["sid"]]
    fetched = await client.messages(record["sid"]).fetch_async()
    assert (fetched.body, fetched.status) == ("did it go?", "queued")
    await _send(client, fake, body="next one answers")
    started = time.monotonic()
    fake.swallow_response()
    held = asyncio.create_task(_send(client, fake))
    await asyncio.sleep(0.1)
    await fake.stop()  # must not wait for the held request
    assert time.monotonic() - started < 1.5
    with pytest.raises((TimeoutError, aiohttp.ClientError)):
        await held


# -- reading messages ------------------------------------------------------------------


async def test_list_filters_pages_and_spec(fake: FakeTwilio, client: Any, http: Any) -> None:
    for n in range(3):
        await _send(client, fake, body=f"text {n}")
    await _send(client, fake, to="+447700900456", body="other")
    found = await client.messages.list_async(to=MEMBER, page_size=2, limit=10)
    assert [m.body for m in found] == ["text 2", "text 1", "text 0"]
    assert [r["query"].get("Page") for r in fake.requests if r["method"] == "GET"] == [None, "1"]
    jsonschema.validate(json.loads(http.last.text), LIST_SCHEMA)
    assert len(await client.messages.list_async(from_=fake.phone_number)) == 4
    today = fake.messages[0]["date_created"]
    assert len(await client.messages.list_async(to=MEMBER, date_sent_after=today)) == 3
    assert (
        await client.messages.list_async(to=MEMBER, date_sent_before=today.replace(year=2020)) == []
    )


async def test_fetch_unknown_is_404(client: Any) -> None:
    with pytest.raises(TwilioRestException) as info:
        await client.messages("SM" + "f" * 32).fetch_async()
    assert (info.value.status, info.value.code) == (404, 20404)


# -- callbacks and webhooks ------------------------------------------------------------


async def test_deliver_signs_for_the_public_url(
    fake: FakeTwilio, client: Any, receiver: Receiver
) -> None:
    fake.public_base_url, fake.app_url = PUBLIC, receiver.url
    message = await _send(client, fake, status_callback=PUBLIC + "/twilio/status?attempt=1")
    assert await fake.deliver(message.sid, "undelivered", error_code=30007) == 200
    [got] = receiver.requests
    assert got["path"] == "/twilio/status?attempt=1"
    validator = RequestValidator(fake.auth_token)
    assert validator.validate(PUBLIC + "/twilio/status?attempt=1", got["form"], got["signature"])
    assert not validator.validate(receiver.url + "/twilio/status", got["form"], got["signature"])
    form = got["form"]
    assert (form["MessageSid"], form["MessageStatus"], form["ErrorCode"]) == (
        message.sid,
        "undelivered",
        "30007",
    )
    assert form["SmsStatus"] == "undelivered" and form["ApiVersion"] == "2010-04-01"
    record = fake.messages[0]
    assert (record["status"], record["error_code"]) == ("undelivered", 30007)
    assert record["error_message"] == "Message filtered" and record["date_sent"] is not None
    fetched = await client.messages(message.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30007)


async def test_auto_status(fake: FakeTwilio, client: Any, receiver: Receiver) -> None:
    fake.auto_status = ["sent", "delivered"]
    await _send(client, fake, status_callback=receiver.url + "/twilio/status")
    await fake.settle()
    assert [r["form"]["MessageStatus"] for r in receiver.requests] == ["sent", "delivered"]
    assert fake.messages[0]["status"] == "delivered"


async def test_inbound_and_forgery(fake: FakeTwilio, client: Any, receiver: Receiver) -> None:
    url = receiver.url + "/twilio/inbound"
    status, body = await fake.send_inbound(
        url, from_=MEMBER, body="STOP", opt_out_type="STOP", signed_url=PUBLIC + "/twilio/inbound"
    )
    assert (status, body) == (200, "<Response/>")
    form, signature = receiver.requests[0]["form"], receiver.requests[0]["signature"]
    assert (form["From"], form["To"], form["Body"]) == (MEMBER, fake.phone_number, "STOP")
    assert form["OptOutType"] == "STOP" and form["MessageSid"].startswith("SM")
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"]
    validator = RequestValidator(fake.auth_token)
    assert validator.validate(PUBLIC + "/twilio/inbound", form, signature)
    await fake.send_inbound(url, from_=MEMBER, body="hi", forge=True)
    forged = receiver.requests[1]
    assert not validator.validate(url, forged["form"], forged["signature"])
    [inbound, _] = await client.messages.list_async(from_=MEMBER)
    assert (inbound.direction, inbound.status) == ("inbound", "received")
    await fake.send_status(url, {"MessageSid": "SM1", "MessageStatus": "sent"})
    raw = receiver.requests[2]
    assert validator.validate(url, raw["form"], raw["signature"])

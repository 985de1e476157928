"""Twilio's Message resource as FakeTwilio stores and serves it, and Twilio's error bodies.

The JSON shapes follow Twilio's OpenAPI description of the 2010-04-01 API (the
``api.v2010.account.message`` schema and the ``ListMessageResponse`` page), which the fake's
own tests check against the spec kept in ``shared/schemas/twilio-api``.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import urlencode

JSON = dict[str, Any]
API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# The codes Turnout meets, with Twilio's wording ({to}/{from_}/{path} filled in).
ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
    "'To' number: {to}.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided ({from_}) is not a valid message-capable Twilio "
    "phone number for this destination.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21701: "The Messaging Service Sid {from_} is invalid.",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}

# GSM 03.38: the basic set costs one septet, the extension table two (escape + char).
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = set("^{}\\[~]|€\f")
_COUNTRIES = {"+44": "GB", "+353": "IE", "+1": "US", "+61": "AU"}


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def error_body(code: int, status: int, message: str | None = None, **fill: str) -> JSON:
    """Twilio's REST error shape, as TwilioRestException parses it."""
    if message is None:
        template = ERROR_MESSAGES.get(code, f"Error {code}")
        message = template.format_map({"to": "", "from_": "", "path": "", **fill})
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def num_segments(body: str) -> int:
    """Segments Twilio would bill, without smart encoding: GSM-7 if every character fits,
    else UCS-2 counted in UTF-16 code units. (Twilio never splits an escape pair; the
    rare off-by-one that causes is ignored here.)"""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in body):
        units, single, multi = len(body) + sum(ch in _GSM_EXTENSION for ch in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def country_of(phone: str) -> str:
    return next((c for prefix, c in _COUNTRIES.items() if phone.startswith(prefix)), "")


def rfc2822(moment: datetime | None) -> str | None:
    return format_datetime(moment) if moment is not None else None


def message_uri(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"


def resource(record: JSON) -> JSON:
    """A stored message as the API serves it; every key is a property of the spec's schema."""
    uri = message_uri(record["account_sid"], record["sid"])
    return {
        "account_sid": record["account_sid"],
        "api_version": API_VERSION,
        "body": record["body"],
        "date_created": rfc2822(record["date_created"]),
        "date_sent": rfc2822(record["date_sent"]),
        "date_updated": rfc2822(record["date_updated"]),
        "direction": record["direction"],
        "error_code": record["error_code"],
        "error_message": record["error_message"],
        "from": record["from_"],
        "messaging_service_sid": record["messaging_service_sid"],
        "num_media": "0",
        "num_segments": str(record["num_segments"]),
        "price": record["price"],
        "price_unit": "USD",
        "sid": record["sid"],
        "status": record["status"],
        "subresource_uris": {
            "media": uri.removesuffix(".json") + "/Media.json",
            "feedback": uri.removesuffix(".json") + "/Feedback.json",
        },
        "to": record["to"],
        "uri": uri,
    }


def validate_create(form: dict[str, str], phone_number: str) -> JSON | None:
    """The checks Twilio makes before accepting a message, in its order; None if it passes."""
    to, sender, service = form.get("To"), form.get("From"), form.get("MessagingServiceSid")
    if not to:
        return error_body(21604, 400)
    if not E164.match(to):
        return error_body(21211, 400, to=to)
    if service is None and not sender:
        return error_body(21603, 400)
    if service is not None and not (service.startswith("MG") and len(service) == 34):
        return error_body(21701, 400, from_=service)
    if service is None and sender != phone_number:
        return error_body(21606, 400, from_=str(sender))
    if not form.get("Body"):
        return error_body(21602, 400)
    if len(form["Body"]) > 1600:
        return error_body(21617, 400)
    return None


def status_params(record: JSON, phone_number: str, error_code: int | None) -> dict[str, str]:
    """The form Twilio posts to a message's StatusCallback."""
    params = {
        "AccountSid": record["account_sid"],
        "ApiVersion": API_VERSION,
        "From": record["from_"] or phone_number,
        "MessageSid": record["sid"],
        "MessageStatus": record["status"],
        "SmsSid": record["sid"],
        "SmsStatus": record["status"],
        "To": record["to"],
    }
    if record["messaging_service_sid"]:
        params["MessagingServiceSid"] = record["messaging_service_sid"]
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


def inbound_params(account_sid: str, sid: str, *, to: str, from_: str, body: str) -> dict[str, str]:
    """The form of Twilio's incoming-message webhook for a plain SMS."""
    return {
        "ToCountry": country_of(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": country_of(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(num_segments(body)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


def _parse_moment(value: str) -> date:
    """Twilio takes ``YYYY-MM-DD`` or the client's ``YYYY-MM-DDTHH:MM:SSZ`` (read as UTC)."""
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compare(mine: date, op: str, bound: date) -> bool:
    return mine <= bound if op == "<" else mine >= bound if op == ">" else mine == bound


def _sent_matches(record: JSON, op: str, value: str) -> bool:
    """``DateSent<`` means on or before, ``DateSent>`` on or after, as Twilio's docs say.

    A message not yet sent is matched on its creation time so that a fresh send can be
    reconciled; Twilio fills date_sent within seconds, so the difference rarely shows.
    """
    moment: datetime = record["date_sent"] or record["date_created"]
    bound = _parse_moment(value)
    return _compare(moment if isinstance(bound, datetime) else moment.date(), op, bound)


def matching(records: list[JSON], query: dict[str, str]) -> list[JSON]:
    """Apply the list filters the spec defines (To, From, DateSent, DateSent<, DateSent>)."""
    found = [
        r
        for r in records
        if query.get("To") in (None, r["to"]) and query.get("From") in (None, r["from_"])
    ]
    for op in ("", "<", ">"):
        if value := query.get("DateSent" + op):
            found = [r for r in found if _sent_matches(r, op, value)]
    return found


def list_page(records: list[JSON], query: dict[str, str], path: str) -> JSON:
    """One page of a newest-first list, with Twilio's relative page URIs."""
    size = max(1, min(int(query.get("PageSize") or 50), 1000))
    page = int(query.get("Page") or 0)
    newest_first = sorted(records, key=lambda r: r["seq"], reverse=True)
    found = matching(newest_first, query)
    chunk = found[page * size : (page + 1) * size]
    filters = {k: v for k, v in query.items() if k not in ("PageSize", "Page", "PageToken")}

    def uri(number: int, token: str | None = None) -> str:
        params = {**filters, "PageSize": str(size), "Page": str(number)}
        if token:
            params["PageToken"] = token
        return f"{path}?{urlencode(params)}"

    more = (page + 1) * size < len(found)
    return {
        "messages": [resource(r) for r in chunk],
        "end": page * size + max(len(chunk) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if more else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1, "PB" + chunk[0]["sid"]) if page and chunk else None,
        "start": page * size,
        "uri": uri(page, query.get("PageToken")),
    }


@dataclass
class Fault:
    """An answer armed for the next ``remaining`` message creations."""

    kind: Literal["error", "swallow"]
    remaining: int
    status: int = 0
    code: int = 0
    message: str | None = None
    retry_after: int | None = None

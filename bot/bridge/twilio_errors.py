"""Twilio error codes, in words an activist can act on, and whether to retry.

When a text fails, the activist sees why on the Slack message. Twilio's own
messages ("Attempt to send to unsubscribed recipient") are written for
developers; an activist needs to know what it means for this member and what
to do next. The outbox also needs to know which failures are worth another
attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DESCRIPTIONS", "RETRYABLE", "describe", "is_retryable"]

# Phrases start in lower case and have no final full stop, so that callers
# can put them after "Not sent: " or "Not delivered: ".
DESCRIPTIONS: Mapping[int, str] = MappingProxyType(
    {
        # REST API errors: the request itself was refused.
        20003: "Twilio refused our credentials; tell an admin",
        20404: "Twilio could not find that message or resource; tell an admin",
        20429: "Twilio is busy (too many requests); it will be tried again",
        20500: "Twilio had an internal error; it will be tried again",
        20503: "Twilio is temporarily unavailable; it will be tried again",
        21211: "the phone number is not valid; check it with an organiser",
        21408: "texting this country is not enabled for our account; tell an organiser",
        21606: "our sending number cannot text this member; tell an admin",
        21608: "our trial account can only text verified numbers; tell an admin",
        21610: "the member has opted out (replied STOP); do not text them",
        21611: "too many texts are queued on our number; it will be tried again",
        21612: "this number cannot be reached by text from our number",
        21614: "not a mobile number, so it cannot receive texts",
        21617: "the text is too long (over 1,600 characters); shorten it",
        21635: "the number is a landline and cannot receive texts",
        # Delivery errors: Twilio accepted the text, the network did not take it.
        30001: "too many texts were queued at Twilio; it will be tried again",
        30002: "the Twilio account is suspended; tell an admin",
        30003: "the member's phone is switched off or out of signal; try again later",
        30004: "the member's phone or network blocked the text",
        30005: "the number is unknown or no longer exists; mark it as a wrong number",
        30006: "the number is a landline or its network cannot take texts",
        30007: "the mobile network filtered the text as spam; reword it and tell an organiser",
        30008: "the network could not deliver it for an unknown reason; try again later",
        30032: "our toll-free sending number is not verified; tell an admin",
        30034: "our sending number is not registered for texting (10DLC); tell an admin",
        30036: "it waited in Twilio's queue too long and was dropped; try again",
    }
)

RETRYABLE: frozenset[int] = frozenset({20429, 20500, 20503, 21611, 30001})
"""Codes that mean "not now" rather than "not ever": rate limits, Twilio's own
outages, and a full sending queue (21611 when creating, 30001 once queued)."""


def describe(code: int | str | None, fallback: str | None = None) -> str:
    """Short words for a Twilio error code.

    For a code not known here, ``fallback`` (usually Twilio's own message)
    is better than nothing; failing that, the code, which an admin can look up.
    """
    number = _as_code(code)
    if number is not None and number in DESCRIPTIONS:
        return DESCRIPTIONS[number]
    if fallback and fallback.strip():
        return fallback.strip()
    return f"Twilio error {number}" if number is not None else "unknown Twilio error"


def is_retryable(code: int | str | None, http_status: int | None = None) -> bool:
    """Whether trying the same request again later can succeed.

    429 and 5xx say so by their status; other 4xx are final. A delivery
    failure arrives with no status, so its code decides. A request whose
    outcome is unknown (a timeout, or a 5xx on create) may already have made
    a message: reconcile it against Twilio before sending again.
    """
    number = _as_code(code)
    if number is not None and number in RETRYABLE:
        return True
    if number is not None and number in DESCRIPTIONS:
        return False  # a known final answer, whatever status carried it
    if http_status is None:
        return False
    return http_status == 429 or 500 <= http_status <= 599


def _as_code(code: int | str | None) -> int | None:
    """Twilio's code as an int; webhooks send it as a string, the REST client as an int."""
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None

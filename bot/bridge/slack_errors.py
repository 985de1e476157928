"""How the Slack outbox reads Slack's refusals: later, never, or not yet.

Part of the outbox (it stands on the same ground, nothing else).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class Deferred(Exception):
    """Try this delivery again later (a 429, a paused method, a network blip)."""

    def __init__(self, seconds: float, reason: str, *, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason
        self.rate_limited = rate_limited


class GaveUp(Exception):
    """Slack refused in a way retrying cannot fix (channel_not_found, ...)."""


class Held(Exception):
    """Not to be shown yet: the owner has not agreed to the data-protection terms."""


def classify(method: str, exc: SlackApiError) -> Exception:
    response = exc.response
    status = getattr(response, "status_code", 200)
    error = str(response.get("error") or "")
    if status == 429 or error == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry_after = _retry_after(headers)
        return Deferred(
            retry_after, f"{method} rate limited for {retry_after:.0f}s", rate_limited=True
        )
    if status >= 500 or error in RETRYABLE_ERRORS:
        return Deferred(5.0, f"{method}: {error or status}")
    return GaveUp(f"{method}: {error or status}")


def _retry_after(headers: Any) -> float:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if value is not None:
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except ValueError:
                break
    return 1.0

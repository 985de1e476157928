"""Slack's per-channel limit on chat.postMessage, as the fake holds it."""

from __future__ import annotations

import time


class PostLimit:
    """A token bucket per channel: `rate` posts a second, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait(self, channel: str) -> float:
        """0 if a post to `channel` may go now (and takes its token), else the wait."""
        now = time.monotonic()
        tokens, stamp = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        if tokens >= 1.0:
            self._buckets[channel] = (tokens - 1.0, now)
            return 0.0
        self._buckets[channel] = (tokens, now)
        return (1.0 - tokens) / self.rate

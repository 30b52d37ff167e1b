"""A token bucket that answers *when* bytes may go, instead of whether they may go now.

The bucket holds at most ``burst`` tokens (one per byte) and gains ``rate``
per second. :meth:`TokenBucket.reserve` takes ``n`` tokens at ``now`` and
returns the time the ``n`` bytes may be sent: ``now`` if the bucket held
them, else the time it will have earned the shortfall. Reservations run into
debt, so they are granted in the order they are asked, each no earlier than
the one before (a byte stream must not be reordered to fit a rate).

The guarantee, for any sequence of reservations at non-decreasing times:
the bytes granted for any interval ``[t1, t2]`` of send times add up to at
most ``burst + rate * (t2 - t1)``. That is what a token bucket filter
promises (tc-tbf(8)); the tests check it over arbitrary schedules.
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate`` bytes per second, ``burst`` bytes at once; starts full at ``now``."""

    def __init__(self, rate: float, burst: int, *, now: float) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be positive, not {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1 byte, not {burst!r}")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)  # negative: debt of reservations granted in the future
        self._updated = now

    def reserve(self, n: int, now: float) -> float:
        """Take ``n`` tokens (at most ``burst``); the time the ``n`` bytes may be sent."""
        if not 0 < n <= self.burst:
            raise ValueError(f"a reservation is 1 to {self.burst} bytes, not {n}")
        now = max(now, self._updated)  # a monotonic clock; never refill backwards
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= n
        if self._tokens >= 0:
            return now
        return now + -self._tokens / self.rate

    def tokens(self, now: float) -> float:
        """Tokens held at ``now`` (negative while reservations wait)."""
        elapsed = max(0.0, now - self._updated)
        return min(float(self.burst), self._tokens + elapsed * self.rate)

"""Whether this process still hears invalidations, and when it must assume it does not.

L1 may hold a value only while every invalidation of it would reach this
process. Redis pub/sub delivers at most once: a message published while the
subscriber's connection is down, or stuck in a connection that stopped
moving, is lost for good. So the subscriber keeps asking: every
``ping_interval_s`` it sends a PING down the subscription connection, and
the answer must come back (in order, behind any message Redis queued before
it) within ``pong_timeout_s``. If it does not, or the connection fails, the
subscription is *lost*: the process clears its L1 and stops using it until
it has subscribed again.

The bound this gives: an invalidation published at ``t`` that never reaches
the process is noticed, at the latest, when the first PING sent after ``t``
goes unanswered, so no later than ``t + ping_interval_s + pong_timeout_s``
(plus the event loop's lag in running the check).

Pure: :class:`SubscriptionHealth` is told what happened and when, and says
what to do next. States: ``down`` (initial) and ``up``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PING_INTERVAL_S", "PONG_TIMEOUT_S", "SubscriptionHealth", "SubscriptionStatistics"]

PING_INTERVAL_S = 0.5  # two pings per second per process: nothing next to the reads it protects
PONG_TIMEOUT_S = 0.5  # a healthy Redis answers a PING in well under a millisecond


@dataclass(frozen=True, slots=True)
class SubscriptionStatistics:
    up: bool
    subscribed: int  # times the subscription came up
    lost: int  # times it was declared lost
    pings: int


class SubscriptionHealth:
    """The liveness of one subscription connection, on times it is given."""

    def __init__(
        self, *, ping_interval_s: float = PING_INTERVAL_S, pong_timeout_s: float = PONG_TIMEOUT_S
    ) -> None:
        for name, value in (
            ("ping_interval_s", ping_interval_s),
            ("pong_timeout_s", pong_timeout_s),
        ):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds, not {value}")
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.up = False
        self._next_ping = math.inf
        self._awaiting_since: float | None = None
        self._subscribed = 0
        self._lost = 0
        self._pings = 0

    @property
    def bound_s(self) -> float:
        """How long a lost invalidation can go unnoticed: ``ping_interval_s + pong_timeout_s``."""
        return self.ping_interval_s + self.pong_timeout_s

    def subscribed(self, now: float) -> str:
        self.up = True
        self._subscribed += 1
        self._awaiting_since = None
        self._next_ping = now + self.ping_interval_s
        return "subscribed to invalidations; L1 in use"

    def lost(self, reason: str) -> str:
        was_up = self.up
        self.up = False
        self._awaiting_since = None
        self._next_ping = math.inf
        if was_up:
            self._lost += 1
        return f"invalidations may be missed ({reason}); L1 cleared and unused until subscribed"

    def pinged(self, now: float) -> None:
        self._pings += 1
        if self._awaiting_since is None:
            self._awaiting_since = now
        self._next_ping = now + self.ping_interval_s

    def ponged(self, now: float) -> None:
        self._awaiting_since = None

    def ping_due(self, now: float) -> bool:
        return self.up and self._awaiting_since is None and now >= self._next_ping

    def overdue(self, now: float) -> str | None:
        """Why the subscription must be taken as lost now, or None while it is healthy."""
        since = self._awaiting_since
        if self.up and since is not None and now - since > self.pong_timeout_s:
            return f"no answer to a ping for {now - since:.2f} s"
        return None

    def next_check(self, now: float) -> float:
        """Seconds until something is due (a ping, or a pong's deadline); at least 0."""
        if self._awaiting_since is not None:
            due = self._awaiting_since + self.pong_timeout_s
        else:
            due = self._next_ping
        return max(0.0, due - now)

    def statistics(self) -> SubscriptionStatistics:
        return SubscriptionStatistics(self.up, self._subscribed, self._lost, self._pings)

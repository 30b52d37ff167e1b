"""One deadline per connection on one event-loop timer, re-armed lazily.

A connection's deadline moves on every read; cancelling and re-scheduling a
loop timer that often costs more than the reads. :class:`Deadline` keeps the
timer and moves only a number: the timer, when it fires early, re-arms itself
for the deadline. Both sides of the balancer use it (the client's
:class:`.connection.ServerConnection`, a backend's :class:`.upstream.Upstream`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

__all__ = ["Deadline"]


class Deadline:
    """A connection's one deadline on one loop timer, re-armed lazily.

    Moving the deadline later (every read does) is an assignment; the timer,
    when it fires before the deadline, re-arms itself for it; only an earlier
    deadline cancels and re-schedules. ``expired(now)`` runs once the
    deadline has passed (it may :meth:`arm` again).
    """

    __slots__ = ("_expired", "_handle", "_loop", "_scheduled", "at")

    def __init__(self, loop: asyncio.AbstractEventLoop, expired: Callable[[float], None]) -> None:
        self._loop = loop
        self._expired = expired
        self._handle: asyncio.TimerHandle | None = None
        self._scheduled = math.inf  # when the timer fires
        self.at = math.inf  # the deadline (inf: none)

    def arm(self, deadline: float) -> None:
        """Set the deadline; the timer is re-armed only when it would fire too late."""
        self.at = deadline
        if self._handle is None or self._scheduled > deadline:
            if self._handle is not None:
                self._handle.cancel()
            self._scheduled = deadline
            self._handle = self._loop.call_at(deadline, self._fire)

    def clear(self) -> None:
        """No deadline (the timer, if it fires, finds nothing due)."""
        self.at = math.inf

    def cancel(self) -> None:
        """No deadline and no timer: the connection is gone."""
        self.at = math.inf
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        now = self._loop.time()
        if now < self.at:
            if self.at < math.inf:
                self._scheduled = self.at
                self._handle = self._loop.call_at(self.at, self._fire)
            return
        self.at = math.inf
        self._expired(now)

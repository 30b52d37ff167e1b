"""The circuit breaker in front of Redis: after a failure, skip it for a while.

A cache exists to make reads cheaper, so a cache that cannot be reached must
cost (almost) nothing: each read that tries a dead Redis pays a refused
connection or, worse, a timeout. The breaker turns "Redis failed" into "do
not try Redis for ``backoff``": reads go straight to the loader, with no
error. States, as in Nygard's *Release It!* (2007):

    closed    --failure-->            open (for backoff)
    open      --backoff elapsed-->    half-open: one probe may try
    half-open --probe succeeds-->     closed, backoff reset
    half-open --probe fails-->        open, backoff doubled (up to max_backoff_s)

and two more moves: a probe that never reports back (its task was cancelled)
frees the probe slot after another ``backoff`` (half-open stays half-open,
with a new slot), and a call that started before the breaker opened and then
succeeds closes it at once. A failure reported while open changes nothing (it
started before the breaker opened). The table is :data:`TRANSITIONS`, taken
through a :class:`~millionscale.statetable.StateTable`.

One failure opens it: a cache read is worth less than the time a second
timeout would cost.

Pure: time comes from the ``clock`` passed in; each transition returns the
sentence the tier logs.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

from millionscale.statetable import StateTable

__all__ = [
    "BACKOFF_S",
    "MAX_BACKOFF_S",
    "TRANSITIONS",
    "BreakerEvent",
    "BreakerState",
    "BreakerStatistics",
    "CircuitBreaker",
]

BACKOFF_S = 0.5  # first pause after a failure: a Redis restart takes about this long here
MAX_BACKOFF_S = 5.0  # longest pause: a recovered Redis is used again within 5 s


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class BreakerEvent(enum.StrEnum):
    FAILED = "call failed"
    SUCCEEDED = "call succeeded"
    PAUSE_OVER = "pause over"
    PROBE_LOST = "probe slot over"  # the probe never reported back


TRANSITIONS: dict[tuple[BreakerState, BreakerEvent], BreakerState] = {
    (BreakerState.CLOSED, BreakerEvent.FAILED): BreakerState.OPEN,
    (BreakerState.OPEN, BreakerEvent.PAUSE_OVER): BreakerState.HALF_OPEN,
    (BreakerState.OPEN, BreakerEvent.SUCCEEDED): BreakerState.CLOSED,  # started before it opened
    (BreakerState.HALF_OPEN, BreakerEvent.SUCCEEDED): BreakerState.CLOSED,
    (BreakerState.HALF_OPEN, BreakerEvent.FAILED): BreakerState.OPEN,
    (BreakerState.HALF_OPEN, BreakerEvent.PROBE_LOST): BreakerState.HALF_OPEN,
}
"""(state, event) -> state; a pair not in the table is illegal."""

_TABLE: StateTable[BreakerState, BreakerEvent] = StateTable(TRANSITIONS, name="circuit breaker")


@dataclass(frozen=True, slots=True)
class BreakerStatistics:
    state: BreakerState
    opened: int  # times it went from closed to open
    skipped: int  # calls refused while open
    backoff_s: float  # the pause it is in, or will take after the next failure


class CircuitBreaker:
    """Says whether to call Redis now; told how each call went."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        backoff_s: float = BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
    ) -> None:
        if not (0 < backoff_s <= max_backoff_s and math.isfinite(max_backoff_s)):
            raise ValueError("need 0 < backoff_s <= max_backoff_s, both finite")
        self._clock = clock
        self._base = backoff_s
        self._max = max_backoff_s
        self._backoff = backoff_s
        self._state = BreakerState.CLOSED
        self._until = 0.0  # end of the pause (open) or of the probe's slot (half-open)
        self._opened = 0
        self._skipped = 0

    @property
    def state(self) -> BreakerState:
        return self._state

    def allow(self) -> bool:
        """Whether a call may go to Redis now (in half-open, only the one probe)."""
        if self._state is BreakerState.CLOSED:
            return True
        now = self._clock()
        if now < self._until:
            self._skipped += 1
            return False
        # The pause is over, or the last probe vanished.
        over = (
            BreakerEvent.PAUSE_OVER if self._state is BreakerState.OPEN else BreakerEvent.PROBE_LOST
        )
        self._state = _TABLE.fire(self._state, over)
        self._until = now + self._backoff
        return True

    def succeeded(self) -> str | None:
        """A call went through; the sentence to log if that closed the breaker."""
        if self._state is BreakerState.CLOSED:
            return None
        self._state = _TABLE.fire(self._state, BreakerEvent.SUCCEEDED)
        self._backoff = self._base
        return "redis answered again; using it"

    def failed(self, reason: str) -> str | None:
        """A call failed; the sentence to log if that opened the breaker (or kept it open)."""
        now = self._clock()
        match self._state:
            case BreakerState.CLOSED:
                self._opened += 1
            case BreakerState.HALF_OPEN:
                self._backoff = min(self._backoff * 2, self._max)
            case BreakerState.OPEN:
                return None  # a call that started before the breaker opened
        self._state = _TABLE.fire(self._state, BreakerEvent.FAILED)
        self._until = now + self._backoff
        return f"redis failed ({reason}); skipping it for {self._backoff:g} s"

    def statistics(self) -> BreakerStatistics:
        return BreakerStatistics(self._state, self._opened, self._skipped, self._backoff)

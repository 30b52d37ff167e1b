"""A clock the test moves by hand, in the spirit of trio's ``MockClock``."""

from __future__ import annotations

__all__ = ["FakeClock"]

START = 1000.0  # not 0.0: code must not confuse "time zero" with "never set"


class FakeClock:
    """Time that moves only when the test calls :meth:`jump`.

    It fits every clock the pure cores take, ``Callable[[], float]`` (the
    supervision core, the balancer's health and outlier policies, the failover
    core, the cache's breaker, leases and L1): pass the instance itself, and
    calling it reads the time. :meth:`now` and :meth:`monotonic` read the same
    value, for code that reads a timestamp explicitly (``on_check(ok, now)``).

    A test reaches a deadline by jumping to it, never by sleeping; the clock is
    monotonic, so a jump backwards is a bug in the test and raises ``ValueError``.
    """

    __slots__ = ("_now",)

    def __init__(self, start: float = START) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r})"

    def now(self) -> float:
        """The current time, in seconds."""
        return self._now

    def monotonic(self) -> float:
        """The same as :meth:`now`: a fake clock is monotonic by construction."""
        return self._now

    def jump(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (zero is allowed; backwards is not)."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock does not go back (jump of {seconds} s)")
        self._now += seconds

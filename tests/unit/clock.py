"""A clock the test moves by hand, in the spirit of trio's MockClock.

Pass the instance itself wherever code wants ``Callable[[], float]``: calling
it returns :attr:`now`. Time moves only when the test calls :meth:`jump`, so a
test reaches a deadline by jumping to it, never by sleeping.
"""

from __future__ import annotations


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        # Not 0.0: code must not confuse "time zero" with "never set".
        self.now = start

    def __call__(self) -> float:
        return self.now

    def jump(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never backward: clocks are monotonic)."""
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self.now += seconds

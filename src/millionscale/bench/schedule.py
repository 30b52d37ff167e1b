"""When each request of an open-loop run is meant to be sent.

A run at ``rate`` requests per second for ``duration_s`` seconds intends to
send request ``i`` at ``start + i / rate`` for every ``i`` with
``i / rate < duration_s``: the times depend on nothing but the clock, never on
how fast earlier requests came back. Latency is measured from these intended
times, which is what keeps a stalled server visible in the tail (wrk2's
answer to coordinated omission).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from millionscale.errors import ConfigError

__all__ = ["Schedule", "validate_rate_and_duration"]

# Rates and durations are user input; a float error of this size must not add
# or drop a request (3 s at 100/s is 300 requests, not 301).
_EPSILON = 1e-9


def validate_rate_and_duration(rate: float, duration_s: float) -> None:
    """Raise :class:`ConfigError` unless both are finite and positive."""
    if not (math.isfinite(rate) and rate > 0):
        raise ConfigError(
            f"rate must be a positive number of requests per second, not {rate!r}",
            hint="pass e.g. --rate 100",
        )
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ConfigError(
            f"duration must be a positive number of seconds, not {duration_s!r}",
            hint="pass e.g. --duration 10",
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """Constant-rate intended send times: ``start + i / rate`` for ``i < count``."""

    rate: float
    duration_s: float
    start: float

    def __post_init__(self) -> None:
        validate_rate_and_duration(self.rate, self.duration_s)

    @property
    def count(self) -> int:
        """How many requests the run sends: every ``i`` with ``i / rate < duration_s``."""
        return max(1, math.ceil(self.rate * self.duration_s - _EPSILON))

    @property
    def end(self) -> float:
        """When scheduling stops: ``start + duration_s``."""
        return self.start + self.duration_s

    def intended(self, i: int) -> float:
        """The intended send time of request ``i``."""
        if not 0 <= i < self.count:
            raise IndexError(f"request {i} is outside the schedule of {self.count}")
        return self.start + i / self.rate

    def __iter__(self) -> Iterator[float]:
        """Every intended time, in order, computed lazily (no list of a million floats)."""
        for i in range(self.count):
            yield self.start + i / self.rate

    def __len__(self) -> int:
        return self.count

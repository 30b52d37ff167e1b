"""What to do with a job after a delivery: retry later, or give up to dead letters.

Pure; randomness is injected. A job runs at most ``max_deliveries`` times. After
delivery ``n`` fails, the next waits ``min(max_backoff_s, base_s * factor ** (n-1))``
scaled by jitter; once ``n`` reaches ``max_deliveries`` the job is dead-lettered
with the reason and its last error.

Dramatiq retries 20 times with exponential backoff from 15 s to 7 days; we keep
its 20 deliveries but start at 1 s and cap at 10 minutes (a thumbnail that
failed for a second should not wait a day), and jitter each wait between half
and all of its ceiling, so that a thousand jobs failed by one outage do not all
come back at the same instant. A delivery that arrives already past
``max_deliveries`` (the worker died each time, so no decision was ever taken)
is dead-lettered before it runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from millionscale.errors import ConfigError

__all__ = ["DeadLetter", "Retry", "RetryPolicy"]

MAX_DELIVERIES = 20  # Dramatiq's max_retries default (it counts retries; we count runs)
BASE_S = 1.0
FACTOR = 2.0
MAX_BACKOFF_S = 600.0


@dataclass(frozen=True, slots=True)
class Retry:
    """Deliver again after ``delay_s``; ``reason`` says it in a sentence."""

    delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Give up: the job goes to dead letters with ``reason``."""

    reason: str


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries with exponential backoff and full jitter, up to ``max_deliveries`` runs."""

    max_deliveries: int = MAX_DELIVERIES
    base_s: float = BASE_S
    factor: float = FACTOR
    max_backoff_s: float = MAX_BACKOFF_S
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_deliveries < 1:
            raise ConfigError(f"max_deliveries must be at least 1, not {self.max_deliveries}")
        if not 0 < self.base_s <= self.max_backoff_s:
            raise ConfigError("backoff must have 0 < base_s <= max_backoff_s")
        if self.factor < 1:
            raise ConfigError(f"the backoff factor must be at least 1, not {self.factor}")

    def backoff_s(self, delivery: int, rng: random.Random | None = None) -> float:
        """The wait before delivery ``delivery + 1`` (``delivery`` counts from 1)."""
        exponent = min(max(delivery - 1, 0), 64)  # 2**64 s is past any cap already
        ceiling = min(self.max_backoff_s, self.base_s * self.factor**exponent)
        if not self.jitter:
            return ceiling
        # Full jitter, but never below half the ceiling: some spread, still a backoff.
        return ceiling * (0.5 + 0.5 * (rng or random).random())

    def overdue(self, delivery: int) -> DeadLetter | None:
        """Before running delivery ``delivery``: dead letters if it is past the maximum."""
        if delivery <= self.max_deliveries:
            return None
        return DeadLetter(
            f"delivered {delivery} times, over the {self.max_deliveries} allowed, "
            "without an answer (the worker died or missed the ack deadline each time)"
        )

    def after_failure(
        self, delivery: int, error: str, rng: random.Random | None = None
    ) -> Retry | DeadLetter:
        """Delivery ``delivery`` raised ``error`` (one line): retry later, or give up."""
        if delivery >= self.max_deliveries:
            return DeadLetter(f"failed {delivery} of {self.max_deliveries} deliveries: {error}")
        delay = self.backoff_s(delivery, rng)
        return Retry(
            delay,
            f"delivery {delivery} of {self.max_deliveries} failed, retrying in {delay:.1f} s: "
            f"{error}",
        )

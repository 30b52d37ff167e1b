"""Factories for the scaler's unit tests: what a test relies on is at its call site."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from millionscale.queue import Hold, QueueStatus, Scale, Scaler, ScalerSettings
from millionscale.testing import FakeClock


def status(
    *, ready: int = 0, in_flight: int = 0, age: float = 0.0, delayed: int = 0
) -> QueueStatus:
    """A queue status with ``ready`` and ``in_flight`` jobs, the oldest ``age`` s old."""
    return QueueStatus(ready, in_flight, delayed, dead_letters=0, oldest_age_s=age, redelivered=0)


BEHIND = status(ready=40, age=30.0)  # far over the 5 s target
QUIET = status()  # nothing waiting
STEADY = status(ready=5, age=4.0)  # within the target, over its quiet half


def scaler(**knobs: float) -> tuple[Scaler, FakeClock]:
    """A scaler with the default settings but ``knobs``, and a clock to step it with."""
    return Scaler(ScalerSettings(**knobs)), FakeClock()  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Change:
    at: float
    before: int
    to: int


def run(
    core: Scaler,
    clock: FakeClock,
    signal: Iterable[QueueStatus],
    *,
    workers: int,
    every_s: float = 5.0,
    rate: float | None = None,
) -> tuple[list[Scale | Hold], list[Change], int]:
    """Step ``core`` once per status of ``signal``, ``every_s`` apart, applying each Scale
    at once; the decisions, the changes, and the count at the end."""
    decisions: list[Scale | Hold] = []
    changes: list[Change] = []
    for one in signal:
        decision = core.step(clock(), one, workers, rate)
        decisions.append(decision)
        if isinstance(decision, Scale):
            changes.append(Change(clock(), workers, decision.to))
            workers = decision.to
        clock.jump(every_s)
    return decisions, changes, workers

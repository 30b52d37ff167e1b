"""Capacity mode: the highest constant rate at which the target still meets its SLO.

The search is a pure function of the steps run so far (:func:`next_rate`),
and a thin async loop runs it (:func:`find_capacity`):

1. ramp: start at ``start_rate`` and multiply by ``factor`` while every step
   holds;
2. bisect: after the first step that fails, try the middle of the highest
   holding rate and the lowest failing one, ``bisect_steps`` times (or until
   the two are within ``resolution`` of each other).

A step *holds* when its p99 latency is at most ``slo_p99_ms`` and fewer than
``max_error_rate`` of its requests failed (wrk2-style open-loop runs, so p99
includes the queueing that an overloaded server causes). If even the first
step fails, the bisection searches below it, between 0 and ``start_rate``.
Every step ends with one sentence saying what it found.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from millionscale.bench.recorder import Summary
from millionscale.errors import ConfigError

__all__ = [
    "CapacityPlan",
    "CapacityResult",
    "Step",
    "conclude",
    "evaluate",
    "find_capacity",
    "next_rate",
]

MAX_ERROR_RATE = 0.001  # 0.1 %: more failures than this and the rate does not hold
FACTOR = 2.0  # ramp by doubling: few steps to find the order of magnitude
BISECT_STEPS = 4  # then narrow it to within 1/16 of the last ramp interval
MAX_RAMP_STEPS = 12  # 2**12 = 4096 x the start rate, far beyond one generator
RESOLUTION = 0.02  # stop bisecting when good and bad are within 2 % of each other


@dataclass(frozen=True, slots=True)
class CapacityPlan:
    """How to search: where to start, how fast to ramp, what holding means."""

    start_rate: float
    slo_p99_ms: float
    factor: float = FACTOR
    max_error_rate: float = MAX_ERROR_RATE
    bisect_steps: int = BISECT_STEPS
    max_ramp_steps: int = MAX_RAMP_STEPS
    resolution: float = RESOLUTION

    def __post_init__(self) -> None:
        checks = (
            ("start rate", self.start_rate > 0, "pass e.g. --rate 100"),
            ("p99 SLO", self.slo_p99_ms > 0, "pass e.g. --slo-p99-ms 100"),
            ("ramp factor", self.factor > 1, "use a factor above 1, e.g. 2"),
            ("error-rate limit", 0 < self.max_error_rate <= 1, "use e.g. 0.001"),
        )
        for name, ok, hint in checks:
            if not ok:
                raise ConfigError(f"the capacity search's {name} is out of range", hint=hint)
        for name, value in (
            ("start rate", self.start_rate),
            ("p99 SLO", self.slo_p99_ms),
            ("ramp factor", self.factor),
        ):
            if not math.isfinite(value):
                raise ConfigError(
                    f"the capacity search's {name} must be finite", hint="pass a number"
                )
        if self.bisect_steps < 0 or self.max_ramp_steps < 1:
            raise ConfigError(
                "the capacity search needs at least one ramp step and no negative bisection",
                hint="use the defaults",
            )


@dataclass(frozen=True, slots=True)
class Step:
    """One constant-rate run of the search and whether it held."""

    rate: float
    p99_ms: float | None
    error_rate: float
    holds: bool
    sentence: str
    summary: Summary | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "p99_ms": self.p99_ms,
            "error_rate": self.error_rate,
            "holds": self.holds,
            "result": self.summary.to_json() if self.summary is not None else None,
        }


@dataclass(frozen=True, slots=True)
class CapacityResult:
    """The highest rate that held (``None`` if none did) and every step, in order."""

    slo_p99_ms: float
    max_error_rate: float
    highest_holding_rate: float | None
    steps: tuple[Step, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "slo_p99_ms": self.slo_p99_ms,
            "max_error_rate": self.max_error_rate,
            "highest_holding_rate": self.highest_holding_rate,
            "steps": [step.to_json() for step in self.steps],
        }


def evaluate(
    plan: CapacityPlan,
    rate: float,
    p99_ms: float | None,
    error_rate: float,
    summary: Summary | None = None,
) -> Step:
    """Whether a step at ``rate`` held, with the sentence that says why.

    A step with no timed request (``p99_ms`` is None) holds only if it had no
    errors either, which cannot happen for a non-empty run.
    """
    p99_ok = p99_ms is not None and p99_ms <= plan.slo_p99_ms
    errors_ok = error_rate < plan.max_error_rate
    holds = p99_ok and errors_ok
    p99_text = "no answers" if p99_ms is None else f"p99 {p99_ms:.1f} ms"
    p99_cmp = "<=" if p99_ok else ">"
    err_cmp = "<" if errors_ok else ">="
    sentence = (
        f"{rate:,.0f}/s {'holds' if holds else 'fails'}: "
        f"{p99_text} {p99_cmp} {plan.slo_p99_ms:g} ms, "
        f"errors {error_rate:.2%} {err_cmp} {plan.max_error_rate:.2%}"
    )
    return Step(rate, p99_ms, error_rate, holds, sentence, summary)


def next_rate(plan: CapacityPlan, steps: Sequence[Step]) -> float | None:
    """The rate of the next step, or ``None`` when the search is over."""
    if not steps:
        return plan.start_rate
    first_failure = next((i for i, step in enumerate(steps) if not step.holds), None)
    if first_failure is None:
        if len(steps) >= plan.max_ramp_steps:
            return None
        return steps[-1].rate * plan.factor
    bisections = len(steps) - first_failure - 1
    if bisections >= plan.bisect_steps:
        return None
    good = max((step.rate for step in steps if step.holds), default=0.0)
    bad = min(step.rate for step in steps if not step.holds)
    if bad <= good or (bad - good) <= plan.resolution * bad:
        return None
    return (good + bad) / 2


def conclude(plan: CapacityPlan, steps: Sequence[Step]) -> CapacityResult:
    """The outcome of a search made of ``steps``."""
    holding = [step.rate for step in steps if step.holds]
    return CapacityResult(
        slo_p99_ms=plan.slo_p99_ms,
        max_error_rate=plan.max_error_rate,
        highest_holding_rate=max(holding) if holding else None,
        steps=tuple(steps),
    )


async def find_capacity(
    plan: CapacityPlan,
    run_step: Callable[[float], Awaitable[Summary]],
    *,
    on_step: Callable[[Step], None] | None = None,
) -> CapacityResult:
    """Run the search: ``run_step(rate)`` runs one open-loop step and returns its summary.

    Bounded: at most ``max_ramp_steps + bisect_steps`` steps.
    """
    steps: list[Step] = []
    for _ in range(plan.max_ramp_steps + plan.bisect_steps):
        rate = next_rate(plan, steps)
        if rate is None:
            break
        summary = await run_step(rate)
        step = evaluate(plan, rate, summary.latency_ms.p99, summary.error_rate, summary)
        steps.append(step)
        if on_step is not None:
            on_step(step)
    return conclude(plan, steps)

"""One bench against a live target: log the users in, then load it.

The glue between the pieces, and all of the I/O they need: it opens one
:class:`HttpTransport`, logs the workload's users in (untimed), and either
runs one open-loop run (:func:`bench_target`) or a capacity search
(:func:`find_target_capacity`) whose steps all share the logged-in users and
the connection pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from millionscale.bench.api import PhotoApi
from millionscale.bench.capacity import CapacityPlan, CapacityResult, Step, find_capacity
from millionscale.bench.generator import (
    DRAIN_TIMEOUT_S,
    MAX_IN_FLIGHT,
    ProgressCallback,
    run_open_loop,
    validate_bounds,
)
from millionscale.bench.http import POOL_LIMIT, REQUEST_TIMEOUT_S, HttpTransport, validate_pool
from millionscale.bench.recorder import Summary
from millionscale.bench.scenario import Scenario, Workload
from millionscale.bench.schedule import validate_rate_and_duration

__all__ = ["Limits", "bench_target", "find_target_capacity"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds of a run: connections, per-request timeout, in-flight cap, drain."""

    pool_limit: int = POOL_LIMIT
    timeout_s: float = REQUEST_TIMEOUT_S
    max_in_flight: int = MAX_IN_FLIGHT
    drain_timeout_s: float = DRAIN_TIMEOUT_S

    def __post_init__(self) -> None:
        validate_pool(self.pool_limit, self.timeout_s)
        validate_bounds(self.max_in_flight, self.drain_timeout_s)


@asynccontextmanager
async def _logged_in(
    workload: Workload, limits: Limits, say: Callable[[str], None]
) -> AsyncIterator[Scenario]:
    """One pooled transport with the workload's users logged in (untimed)."""
    async with HttpTransport(
        workload.base_url, pool_limit=limits.pool_limit, timeout_s=limits.timeout_s
    ) as transport:
        scenario = Scenario(workload, PhotoApi(transport))
        say(await scenario.log_in())
        yield scenario


async def _timed(
    scenario: Scenario,
    rate: float,
    duration_s: float,
    limits: Limits,
    progress: ProgressCallback | None,
) -> Summary:
    """One timed open-loop run of ``scenario`` within ``limits``."""
    recorder = await run_open_loop(
        rate,
        duration_s,
        scenario.send,
        progress=progress,
        max_in_flight=limits.max_in_flight,
        drain_timeout_s=limits.drain_timeout_s,
    )
    # The pool's size goes with the summary: whether requests waited for a connection.
    return replace(recorder.summary(), connections=limits.pool_limit)


async def bench_target(
    workload: Workload,
    rate: float,
    duration_s: float,
    *,
    limits: Limits = Limits(),
    say: Callable[[str], None] = lambda _: None,
    on_start: Callable[[float], None] = lambda _: None,
    progress: ProgressCallback | None = None,
    scenario_out: list[Scenario] | None = None,
) -> Summary:
    """Run ``workload`` at ``rate`` requests/s for ``duration_s`` s; return what it measured.

    ``say`` gets one sentence after logging in; ``on_start(rate)`` is called
    when the timed run starts. ``scenario_out`` gets the run's :class:`Scenario`
    (its image counters, read after the run).
    """
    validate_rate_and_duration(rate, duration_s)
    async with _logged_in(workload, limits, say) as scenario:
        if scenario_out is not None:
            scenario_out.append(scenario)
        on_start(rate)
        return await _timed(scenario, rate, duration_s, limits, progress)


async def find_target_capacity(
    workload: Workload,
    plan: CapacityPlan,
    step_duration_s: float,
    *,
    limits: Limits = Limits(),
    say: Callable[[str], None] = lambda _: None,
    on_start: Callable[[float], None] = lambda _: None,
    progress: ProgressCallback | None = None,
) -> CapacityResult:
    """Search the highest rate at which ``workload`` meets ``plan``'s SLO.

    ``on_start(rate)`` is called before each step; ``say`` gets one sentence
    after logging in and one per step.
    """
    validate_rate_and_duration(plan.start_rate, step_duration_s)
    async with _logged_in(workload, limits, say) as scenario:

        async def step(rate: float) -> Summary:
            on_start(rate)
            return await _timed(scenario, rate, step_duration_s, limits, progress)

        def report(done: Step) -> None:
            say(done.sentence)

        return await find_capacity(plan, step, on_step=report)

"""The capacity search decides its next step from the steps so far, without a server."""

import asyncio

import pytest

from millionscale.bench.capacity import (
    CapacityPlan,
    Step,
    conclude,
    evaluate,
    find_capacity,
    next_rate,
)
from millionscale.bench.recorder import Latency, Summary
from millionscale.errors import ConfigError


def plan(**overrides) -> CapacityPlan:
    values = {"start_rate": 100.0, "slo_p99_ms": 50.0, "factor": 2.0, "bisect_steps": 3}
    return CapacityPlan(**{**values, **overrides})


def step(p, rate: float, *, holds: bool):
    return evaluate(p, rate, p99_ms=10.0 if holds else 500.0, error_rate=0.0)


def test_a_step_holds_when_p99_is_within_the_slo_and_errors_are_below_the_limit():
    p = plan()

    assert evaluate(p, 100.0, p99_ms=50.0, error_rate=0.0009).holds
    assert not evaluate(p, 100.0, p99_ms=50.1, error_rate=0.0).holds
    assert not evaluate(p, 100.0, p99_ms=1.0, error_rate=0.001).holds
    assert not evaluate(p, 100.0, p99_ms=None, error_rate=1.0).holds


def test_each_step_says_why_in_one_sentence():
    p = plan()

    assert evaluate(p, 400.0, p99_ms=12.34, error_rate=0.0).sentence == (
        "400/s holds: p99 12.3 ms <= 50 ms, errors 0.00% < 0.10%"
    )
    assert evaluate(p, 800.0, p99_ms=75.0, error_rate=0.02).sentence == (
        "800/s fails: p99 75.0 ms > 50 ms, errors 2.00% >= 0.10%"
    )


def test_the_search_starts_at_the_start_rate_and_multiplies_while_steps_hold():
    p = plan()
    steps: list[Step] = []

    assert next_rate(p, steps) == 100.0
    steps.append(step(p, 100.0, holds=True))
    assert next_rate(p, steps) == 200.0
    steps.append(step(p, 200.0, holds=True))
    assert next_rate(p, steps) == 400.0


def test_after_the_first_failure_it_bisects_between_last_good_and_first_bad():
    p = plan()
    steps = [step(p, 100.0, holds=True), step(p, 200.0, holds=True), step(p, 400.0, holds=False)]

    assert next_rate(p, steps) == 300.0
    steps.append(step(p, 300.0, holds=True))
    assert next_rate(p, steps) == 350.0
    steps.append(step(p, 350.0, holds=False))
    assert next_rate(p, steps) == 325.0
    steps.append(step(p, 325.0, holds=True))
    assert next_rate(p, steps) is None  # three bisection steps done


def test_when_the_first_step_fails_it_searches_below_the_start():
    p = plan()

    assert next_rate(p, [step(p, 100.0, holds=False)]) == 50.0


def test_the_ramp_is_bounded():
    p = plan(max_ramp_steps=3)
    steps = [step(p, r, holds=True) for r in (100.0, 200.0, 400.0)]

    assert next_rate(p, steps) is None


def test_bisection_stops_at_the_resolution():
    p = plan(resolution=0.5, bisect_steps=10)
    steps = [step(p, 100.0, holds=True), step(p, 200.0, holds=False)]

    assert next_rate(p, steps) is None  # 100 apart is within 50 % of 200


def test_the_result_is_the_highest_rate_that_held_and_every_step():
    p = plan()
    steps = [step(p, 100.0, holds=True), step(p, 200.0, holds=False), step(p, 150.0, holds=True)]

    result = conclude(p, steps)

    assert result.highest_holding_rate == 150.0
    assert [s.rate for s in result.steps] == [100.0, 200.0, 150.0]
    assert conclude(p, [step(p, 100.0, holds=False)]).highest_holding_rate is None


def fake_summary(rate: float, p99_ms: float) -> Summary:
    return Summary(
        rate=rate,
        duration_s=1.0,
        throughput=rate,
        requests=int(rate),
        latency_ms=Latency(p50=1.0, p90=p99_ms, p99=p99_ms, p999=p99_ms, max=p99_ms),
        errors=(("status_5xx", 0),),
        timeline=(),
    )


def test_the_loop_runs_the_steps_the_decision_asks_for():
    p = plan(bisect_steps=4)
    capacity_of_server = 700.0  # p99 breaks above this rate
    ran: list[float] = []
    said: list[str] = []

    async def run_step(rate: float) -> Summary:
        ran.append(rate)
        return fake_summary(rate, 5.0 if rate <= capacity_of_server else 900.0)

    result = asyncio.run(find_capacity(p, run_step, on_step=lambda s: said.append(s.sentence)))

    assert ran == [100.0, 200.0, 400.0, 800.0, 600.0, 700.0, 750.0, 725.0]
    assert result.highest_holding_rate == 700.0
    assert said[3].startswith("800/s fails")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"start_rate": 0.0}, id="zero-start"),
        pytest.param({"slo_p99_ms": -1.0}, id="negative-slo"),
        pytest.param({"slo_p99_ms": float("nan")}, id="nan-slo"),
        pytest.param({"factor": 1.0}, id="factor-one"),
        pytest.param({"start_rate": float("inf")}, id="infinite-start"),
        pytest.param({"max_ramp_steps": 0}, id="no-ramp"),
    ],
)
def test_bad_plans_are_config_errors(overrides):
    with pytest.raises(ConfigError):
        plan(**overrides)

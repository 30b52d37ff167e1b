"""Slow start: a backend that comes up ramps from 10 % to its full weight over 30 s."""

from typing import Any

import pytest

from millionscale.lb import HealthCheck, HealthPolicy, InitState
from millionscale.testing import FakeClock


def came_up(clock: FakeClock, **policy: Any) -> HealthCheck:
    health = HealthCheck(
        "web-1", now=clock.now(), policy=HealthPolicy(**policy), init=InitState.FULLY_DOWN
    )
    health.on_check(True, clock.now())
    health.on_check(True, clock.now())
    return health


def test_a_backend_the_balancer_starts_with_is_not_slowed():
    clock = FakeClock()

    health = HealthCheck("web-1", now=clock.now(), init=InitState.FULLY_UP)

    assert health.slow_start_factor(clock.now()) == 1.0


@pytest.mark.parametrize(
    ("after_s", "factor"),
    [(0.0, 0.1), (1.5, 0.1), (3.0, 0.1), (15.0, 0.5), (27.0, 0.9), (30.0, 1.0), (90.0, 1.0)],
)
def test_the_weight_ramps_linearly_with_envoys_ten_percent_floor(after_s, factor):
    clock = FakeClock()
    health = came_up(clock)

    clock.jump(after_s)

    assert health.slow_start_factor(clock.now()) == pytest.approx(factor)


def test_a_recovered_backend_slow_starts_again():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now(), init=InitState.FULLY_UP)
    for _ in range(3):
        health.on_check(False, clock.now())
    clock.jump(60.0)
    health.on_check(True, clock.now())
    health.on_check(True, clock.now())

    clock.jump(6.0)

    assert health.slow_start_factor(clock.now()) == pytest.approx(0.2)


def test_a_zero_window_turns_slow_start_off():
    clock = FakeClock()

    health = came_up(clock, slow_start_s=0)

    assert health.slow_start_factor(clock.now()) == 1.0

"""When the next check is due: at once for a new backend, then inter, fastinter or downinter."""

import math

import pytest

from millionscale.lb import HealthCheck, HealthPolicy, InitState
from millionscale.testing import FakeClock


def test_a_new_backend_is_checked_at_once():
    clock = FakeClock()

    health = HealthCheck("web-1", now=clock.now())

    assert health.next_check_at == clock.now()


def test_an_up_backend_is_checked_every_inter():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now(), init=InitState.FULLY_UP)

    health.on_check(True, clock.now())

    assert health.next_check_at == clock.now() + 2.0


@pytest.mark.parametrize(
    ("init", "ok", "interval"),
    [
        (InitState.FULLY_UP, False, 0.5),  # falling: fastinter
        (InitState.FULLY_DOWN, True, 0.5),  # rising: fastinter
        (InitState.FULLY_DOWN, False, 5.0),  # down: downinter
        (InitState.FULLY_UP, True, 2.0),  # up: inter
    ],
)
def test_transitional_and_down_states_use_their_own_intervals(init, ok, interval):
    clock = FakeClock()
    policy = HealthPolicy(inter_s=2.0, fastinter_s=0.5, downinter_s=5.0)
    health = HealthCheck("web-1", now=clock.now(), policy=policy, init=init)

    health.on_check(ok, clock.now())

    assert health.next_check_at == clock.now() + interval


def test_the_check_timeout_defaults_to_inter_as_in_haproxy():
    assert HealthPolicy(inter_s=3.0).check_timeout_s == 3.0
    assert HealthPolicy(inter_s=3.0, timeout_s=1.0).check_timeout_s == 1.0


def test_a_removed_backend_is_never_checked_again():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now())
    health.drain(clock.now())

    health.poll_drain(0, clock.now())

    assert health.next_check_at == math.inf

"""Where a backend starts (HAProxy's init-state); HAProxy's default 'up' trusts until checked."""

import pytest

from millionscale.lb import HealthCheck, InitState, State
from millionscale.testing import FakeClock


@pytest.mark.parametrize(
    ("init", "state", "serving"),
    [
        (InitState.FULLY_UP, State.UP, True),
        (InitState.UP, State.FALLING, True),
        (InitState.DOWN, State.RISING, False),
        (InitState.FULLY_DOWN, State.DOWN, False),
    ],
)
def test_each_init_state_starts_where_haproxy_does(init, state, serving):
    health = HealthCheck("web-1", now=FakeClock().now(), init=init)

    assert (health.state, health.serving) == (state, serving)


def test_haproxys_default_serves_at_once_and_falls_at_the_first_failure():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now())

    transition = health.on_check(False, clock.now())

    assert transition.after is State.DOWN
    assert (
        transition.reason == "web-1 is down: its first check failed (it was trusted until checked)"
    )


def test_haproxys_default_is_confirmed_by_its_first_pass():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now())

    transition = health.on_check(True, clock.now())

    assert (transition.after, transition.reason) == (
        State.UP,
        "web-1 is up: its first check passed",
    )


def test_init_down_comes_up_at_the_first_pass():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now(), init=InitState.DOWN)

    assert health.on_check(True, clock.now()).after is State.UP

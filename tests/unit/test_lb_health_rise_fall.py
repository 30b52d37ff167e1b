"""HAProxy's rise and fall: rise passes in a row bring a backend up, fall failures take it down."""

from millionscale.lb import HealthCheck, HealthPolicy, InitState, State
from millionscale.testing import FakeClock


def check(clock: FakeClock, init: InitState = InitState.FULLY_UP, **policy: int) -> HealthCheck:
    return HealthCheck("web-1", now=clock.now(), policy=HealthPolicy(**policy), init=init)


def run(health: HealthCheck, clock: FakeClock, results: str) -> list[State]:
    """Feed checks ('+' passed, '-' failed), two seconds apart; the states after each."""
    states = []
    for result in results:
        clock.jump(2.0)
        states.append(health.on_check(result == "+", clock.now()).after)
    return states


def test_the_defaults_are_haproxys():
    policy = HealthPolicy()

    assert (policy.inter_s, policy.rise, policy.fall) == (2.0, 2, 3)


def test_three_failures_in_a_row_take_an_up_backend_down():
    clock = FakeClock()
    health = check(clock)

    states = run(health, clock, "---")

    assert states == [State.FALLING, State.FALLING, State.DOWN]
    assert not health.serving


def test_a_falling_backend_still_serves():
    clock = FakeClock()
    health = check(clock)

    run(health, clock, "--")

    assert health.serving


def test_one_pass_forgives_every_failure_counted():
    clock = FakeClock()
    health = check(clock)

    states = run(health, clock, "--+--")

    assert states == [State.FALLING, State.FALLING, State.UP, State.FALLING, State.FALLING]


def test_two_passes_in_a_row_bring_a_down_backend_up():
    clock = FakeClock()
    health = check(clock, InitState.FULLY_DOWN)

    states = run(health, clock, "++")

    assert states == [State.RISING, State.UP]
    assert health.serving


def test_one_failure_starts_the_rise_over():
    clock = FakeClock()
    health = check(clock, InitState.FULLY_DOWN)

    states = run(health, clock, "+-++")

    assert states == [State.RISING, State.DOWN, State.RISING, State.UP]


def test_every_check_says_what_it_did():
    clock = FakeClock()
    health = check(clock, InitState.FULLY_DOWN)

    sentences = [health.on_check(ok, clock.now()).reason for ok in [True, True, False, True]]

    assert sentences == [
        "web-1 is rising: check passed (1/2 towards up)",
        "web-1 is up: 2 checks passed in a row; slow start for 30 s",
        "web-1 is falling: check failed (1/3 towards down)",
        "web-1 is up again: check passed, 1 failure forgiven",
    ]


def test_the_third_failure_says_it_took_the_backend_down():
    clock = FakeClock()
    health = check(clock)
    run(health, clock, "--")

    transition = health.on_check(False, clock.now())

    assert transition.changed
    assert transition.reason == "web-1 is down: check failed (3/3 in a row)"


def test_rise_and_fall_of_one_switch_at_once():
    clock = FakeClock()
    health = check(clock, InitState.FULLY_DOWN, rise=1, fall=1)

    states = run(health, clock, "+-+")

    assert states == [State.UP, State.DOWN, State.UP]

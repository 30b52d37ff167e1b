"""Graceful drain: no new request; removed when none is in flight or at the deadline."""

import pytest

from millionscale.lb import HealthCheck, IllegalTransition, InitState, State
from millionscale.testing import FakeClock


def up(clock: FakeClock) -> HealthCheck:
    return HealthCheck("web-1", now=clock.now(), init=InitState.FULLY_UP)


def test_a_draining_backend_takes_no_new_request():
    clock = FakeClock()
    health = up(clock)

    transition = health.drain(clock.now())

    assert (transition.before, transition.after) == (State.UP, State.DRAINING)
    assert not health.serving
    assert transition.reason == "web-1 is draining: no new request, removed within 30 s"


def test_it_is_removed_as_soon_as_nothing_is_in_flight():
    clock = FakeClock()
    health = up(clock)
    health.drain(clock.now())
    clock.jump(1.0)

    waiting = health.poll_drain(2, clock.now())
    done = health.poll_drain(0, clock.now())

    assert waiting.after is State.DRAINING
    assert waiting.reason == "web-1 is draining: 2 in flight, 29 s left"
    assert done.after is State.REMOVED
    assert done.reason == "web-1 is removed: drained, no request in flight"


def test_it_is_removed_at_the_deadline_whatever_is_in_flight():
    clock = FakeClock()
    health = up(clock)
    health.drain(clock.now(), timeout_s=10.0)
    clock.jump(10.0)

    transition = health.poll_drain(1, clock.now())

    assert transition.after is State.REMOVED
    assert transition.reason == "web-1 is removed: the drain timed out with 1 request in flight"


def test_checks_go_on_while_draining_and_a_resume_returns_to_what_they_say():
    clock = FakeClock()
    health = up(clock)
    health.drain(clock.now())
    for _ in range(3):
        assert health.on_check(False, clock.now()).after is State.DRAINING

    transition = health.resume(clock.now())

    assert transition.after is State.DOWN
    assert transition.reason == "web-1's drain is cancelled; it is down"


def test_draining_twice_keeps_the_first_deadline():
    clock = FakeClock()
    health = up(clock)
    health.drain(clock.now(), timeout_s=10.0)
    clock.jump(5.0)

    transition = health.drain(clock.now(), timeout_s=60.0)

    assert not transition.changed
    assert transition.reason == "web-1 is already draining (5 s left)"
    assert health.drain_deadline == 1010.0


def test_resuming_a_backend_that_is_not_draining_is_refused():
    health = up(FakeClock())

    with pytest.raises(IllegalTransition, match="web-1: no transition resume from up"):
        health.resume(1000.0)


def test_a_removed_backend_accepts_no_event():
    clock = FakeClock()
    health = up(clock)
    health.drain(clock.now())
    health.poll_drain(0, clock.now())

    with pytest.raises(IllegalTransition, match="web-1: no transition check passed from removed"):
        health.on_check(True, clock.now())

"""The fake clock: time moves only by jump(), forward, and every reading agrees."""

import pytest

from millionscale.lb.health import HealthCheck, InitState
from millionscale.testing import FakeClock


def test_it_starts_away_from_zero_and_stands_still():
    clock = FakeClock()

    assert clock.now() == 1000.0
    assert clock() == clock.now() == clock.monotonic()


def test_a_jump_moves_every_reading_by_exactly_that_much():
    clock = FakeClock(start=5.0)

    clock.jump(2.5)
    clock.jump(0)

    assert (clock(), clock.now(), clock.monotonic()) == (7.5, 7.5, 7.5)


def test_a_jump_backwards_is_refused_and_leaves_the_time_alone():
    clock = FakeClock()

    with pytest.raises(ValueError, match="does not go back"):
        clock.jump(-0.001)

    assert clock.now() == 1000.0


def test_a_pure_core_reaches_its_deadline_by_a_jump():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now(), init=InitState.FULLY_UP)
    health.on_check(True, clock.now())

    clock.jump(health.next_check_at - clock.now())

    assert health.next_check_at == clock.now()

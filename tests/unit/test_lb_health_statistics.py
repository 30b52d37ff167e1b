"""A backend's health record: checks, failures, state changes, schedule."""

from millionscale.lb import HealthCheck, HealthStatistics, InitState, State
from millionscale.testing import FakeClock


def test_statistics_count_checks_and_changes():
    clock = FakeClock()
    health = HealthCheck("web-1", now=clock.now(), init=InitState.FULLY_DOWN)
    for ok in [True, True, False]:
        clock.jump(2.0)
        health.on_check(ok, clock.now())

    stats = health.statistics()

    assert stats == HealthStatistics(
        backend="web-1",
        state=State.FALLING,
        health=3,
        checks=3,
        failed_checks=1,
        changes=3,
        last_change_at=1006.0,
        next_check_at=1008.0,
        up_since=1004.0,
    )

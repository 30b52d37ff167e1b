"""The schedule: request i is meant to go at start + i / rate, for i / rate < duration."""

import math

import pytest

from millionscale.bench.schedule import Schedule
from millionscale.errors import ConfigError


def test_times_are_evenly_spaced_from_the_start():
    schedule = Schedule(rate=4.0, duration_s=1.0, start=1000.0)

    assert list(schedule) == [1000.0, 1000.25, 1000.5, 1000.75]


def test_the_count_is_rate_times_duration_without_float_drift():
    assert len(Schedule(rate=100.0, duration_s=3.0, start=0.0)) == 300
    assert len(Schedule(rate=0.1, duration_s=30.0, start=0.0)) == 3
    assert len(Schedule(rate=3.0, duration_s=0.1 + 0.2, start=0.0)) == 1  # 0.9000000000000001


def test_a_fractional_count_rounds_up_to_cover_the_duration():
    schedule = Schedule(rate=10.0, duration_s=0.25, start=0.0)

    assert list(schedule) == [0.0, 0.1, 0.2]


def test_a_run_shorter_than_one_interval_still_sends_one_request():
    assert list(Schedule(rate=1.0, duration_s=0.1, start=5.0)) == [5.0]


def test_every_intended_time_is_before_the_end():
    schedule = Schedule(rate=7.0, duration_s=2.0, start=10.0)

    assert all(t < schedule.end for t in schedule)
    assert schedule.intended(len(schedule) - 1) == pytest.approx(10.0 + 13 / 7)


def test_intended_outside_the_schedule_raises():
    schedule = Schedule(rate=2.0, duration_s=1.0, start=0.0)

    with pytest.raises(IndexError):
        schedule.intended(2)


@pytest.mark.parametrize(
    ("rate", "duration", "needle"),
    [
        pytest.param(0.0, 1.0, "rate must be a positive number", id="zero-rate"),
        pytest.param(-5.0, 1.0, "rate must be a positive number", id="negative-rate"),
        pytest.param(math.nan, 1.0, "rate must be a positive number", id="nan-rate"),
        pytest.param(math.inf, 1.0, "rate must be a positive number", id="infinite-rate"),
        pytest.param(10.0, 0.0, "duration must be a positive number", id="zero-duration"),
        pytest.param(10.0, math.inf, "duration must be a positive number", id="endless"),
    ],
)
def test_bad_rates_and_durations_are_config_errors_with_a_hint(rate, duration, needle):
    with pytest.raises(ConfigError, match=needle) as caught:
        Schedule(rate=rate, duration_s=duration, start=0.0)

    assert caught.value.hint

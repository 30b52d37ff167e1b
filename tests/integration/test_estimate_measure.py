"""Latency figures measured on this machine: positive, in plausible ranges, each bounded
in time. Not exact: machines differ; the ranges are an order of magnitude either way."""

import time

import pytest

from millionscale.estimate import measure
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration

NS, US, MS = 1e-9, 1e-6, 1e-3


def _timed(call, *args):
    start = time.perf_counter()
    result = call(*args)
    return result, time.perf_counter() - start


@pytest.mark.parametrize(
    ("call", "low", "high", "compare_to"),
    [
        (measure.memory_reference, 1 * NS, 2 * US, "main_memory_reference"),
        (measure.mutex_lock_unlock, 0.0, 10 * US, "mutex_lock_unlock"),
        (measure.sequential_memory_read, 1 * US, 50 * MS, "read_1mb_memory"),
        (measure.sequential_disk_read, 1 * US, 1.0, "read_1mb_ssd"),
        (measure.random_disk_read, 100 * NS, 100 * MS, "read_4kb_random_ssd"),
        (measure.loopback_round_trip, 1 * US, 10 * MS, "round_trip_datacenter"),
    ],
)
def test_machine_figures_are_plausible_and_bounded(call, low, high, compare_to):
    measured, took = _timed(call)

    assert measured.seconds is not None
    assert low <= measured.seconds <= high, measured
    assert measured.compare_to == compare_to
    assert measured.how
    assert took < 5.0  # a few hundred ms of timing, plus set-up


def test_mutex_is_measured_above_zero():
    measured = measure.mutex_lock_unlock()

    assert measured.seconds is not None
    assert measured.seconds > 0


def test_postgres_round_trip(postgres: RunningServer):
    measured, took = _timed(measure.postgres_round_trip, postgres.url)

    assert measured.seconds is not None
    assert 1 * US <= measured.seconds <= 50 * MS
    assert "median of" in measured.how
    assert took < 5.0


def test_redis_round_trip(redis: RunningServer):
    measured, took = _timed(measure.redis_round_trip, redis.url)

    assert measured.seconds is not None
    assert 1 * US <= measured.seconds <= 50 * MS
    assert took < 5.0


def test_the_whole_machine_without_engines():
    figures = measure.measure_machine(engines=False)

    assert {m.key for m in figures} == {
        "mutex_lock_unlock",
        "main_memory_reference",
        "read_1mb_memory",
        "read_4kb_random_storage",
        "loopback_round_trip",
        "read_1mb_storage",
    }
    assert all(m.seconds is not None and m.seconds >= 0 for m in figures)

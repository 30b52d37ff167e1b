"""What one busy worker completes per second, from the broker's count of finished jobs:
busy intervals only, per worker, over a window, unknown until there is enough to go on."""

import pytest

from millionscale.errors import ConfigError
from millionscale.queue import WorkerRate
from millionscale.testing import FakeClock


def steps(meter: WorkerRate, clock: FakeClock, samples, every_s: float = 5.0):
    """Observe ``(finished, workers, busy)`` samples ``every_s`` apart; the last rate."""
    rate = None
    for finished, workers, busy in samples:
        rate = meter.observe(clock(), finished, workers, busy=busy)
        clock.jump(every_s)
    return rate


def test_the_rate_is_finished_jobs_per_second_per_worker():
    meter, clock = WorkerRate(), FakeClock()

    rate = steps(meter, clock, [(0, 2, True), (100, 2, True), (200, 2, True)])

    assert rate == pytest.approx(10.0)  # 200 jobs in 10 s by 2 workers


def test_an_idle_spell_does_not_make_the_workers_look_slow():
    meter, clock = WorkerRate(), FakeClock()

    # busy for 5 s, clearing the queue (50 jobs by 1 worker), then nothing due for 15 s
    rate = steps(meter, clock, [(0, 1, True), (50, 1, False), (50, 1, False), (50, 1, False)])

    assert rate == pytest.approx(10.0)  # not 50 jobs / 20 s: idle time is not slowness


def test_the_workers_counted_at_an_interval_start_share_its_jobs():
    meter, clock = WorkerRate(), FakeClock()

    # 1 worker for 5 s does 50; then 3 workers for 5 s do 150
    rate = steps(meter, clock, [(0, 1, True), (50, 3, True), (200, 3, True)])

    assert rate == pytest.approx(200 / (5 * 1 + 5 * 3))


def test_intervals_older_than_the_window_are_forgotten():
    meter, clock = WorkerRate(window_s=10.0), FakeClock()

    # 10 jobs/s per worker, then the jobs get slower: 2 jobs/s
    rate = steps(meter, clock, [(0, 1, True), (50, 1, True), (100, 1, True), (110, 1, True),
                                (120, 1, True)])  # fmt: skip

    assert rate == pytest.approx(2.0)


def test_a_counter_that_goes_back_starts_over():
    meter, clock = WorkerRate(min_busy_s=5.0), FakeClock()

    before = steps(meter, clock, [(1000, 1, True), (1050, 1, True)])
    after = steps(meter, clock, [(3, 1, True)])  # the stream was made again
    later = steps(meter, clock, [(33, 1, True)])

    assert before == pytest.approx(10.0)
    assert after is None
    assert later == pytest.approx(6.0)


def test_unknown_until_enough_busy_time_and_a_finished_job():
    meter, clock = WorkerRate(min_busy_s=2.0), FakeClock()

    first = meter.observe(clock(), 0, 1, busy=True)
    clock.jump(1.0)
    short = meter.observe(clock(), 10, 1, busy=True)  # 1 s of busy time: too little
    clock.jump(5.0)
    stuck = WorkerRate().observe(clock(), 10, 1, busy=True)

    assert (first, short, stuck) == (None, None, None)
    assert meter.observe(clock(), 10, 1, busy=True) == pytest.approx(10 / 6)


def test_no_workers_is_no_interval():
    meter, clock = WorkerRate(min_busy_s=0.0), FakeClock()

    assert steps(meter, clock, [(0, 0, True), (10, 0, True)]) is None


@pytest.mark.parametrize(("window_s", "min_busy_s"), [(0.0, 0.0), (10.0, 11.0), (10.0, -1.0)])
def test_a_window_it_cannot_measure_over_is_refused(window_s, min_busy_s):
    with pytest.raises(ConfigError):
        WorkerRate(window_s=window_s, min_busy_s=min_busy_s)

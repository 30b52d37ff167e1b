"""The scaler's bench figure: what a drain cost in worker-seconds, and its sentence."""

import pytest

from millionscale.bench.queue_runs import drain_verdict, since, worker_seconds
from millionscale.errors import ConfigError


def test_one_fixed_worker_costs_the_drain_time():
    assert worker_seconds([(0.0, 1)], end_s=25.0) == pytest.approx(25.0)


def test_each_count_holds_until_the_next_change():
    counts = [(0.0, 1), (3.0, 2), (5.0, 3)]  # 1 worker for 3 s, 2 for 2 s, 3 until the end

    assert worker_seconds(counts, end_s=12.0) == pytest.approx(3 + 4 + 21)


def test_changes_after_the_end_cost_nothing():
    assert worker_seconds([(0.0, 1), (8.0, 3)], end_s=5.0) == pytest.approx(5.0)


@pytest.mark.parametrize("counts", [[], [(1.0, 1)], [(0.0, 1), (3.0, 2), (2.0, 3)], [(0.0, -1)]])
def test_a_timeline_that_is_no_figure_is_refused(counts):
    with pytest.raises(ConfigError):
        worker_seconds(counts, end_s=10.0)


def test_the_verdict_says_both_drain_times_and_the_ratio():
    sentence = drain_verdict(25.0, 10.0, 3)

    assert sentence == (
        "the scaler (1 to 3 workers) drained the burst in 10.0 s, "
        "2.50x as fast as one fixed worker (25.0 s)"
    )


def test_no_complete_run_is_no_figure():
    assert drain_verdict(None, 10.0, 3) == "no figure: a side has no complete run"
    assert drain_verdict(25.0, 0.0, 3) == "no figure: a drain time is zero or not finite"


def test_counts_are_retimed_from_the_first_enqueue():
    counts = [(0.0, 1), (0.2, 1), (4.0, 2)]  # the clock started before the producer did

    assert since(counts, 0.5) == [(0.0, 1), (3.5, 2)]
    assert since(counts, 0.0) == [(0.0, 1), (0.2, 1), (4.0, 2)]
    assert since([(1.0, 2)], 0.5) == [(0.5, 2)]  # nothing held at the start: no figure

"""A queue benchmark run's figures: jobs/s from first enqueue to last done, nearest-rank latency."""

import math

import pytest

from millionscale.bench.queue_runs import Done, percentile, ratio, summarize
from millionscale.errors import ConfigError


def jobs(latencies_ms, *, every_s=0.01, start=100.0):
    """Job i enqueued at start + i*every_s, done latencies_ms[i] later."""
    return [
        Done(i, start + i * every_s, start + i * every_s + ms / 1000)
        for i, ms in enumerate(latencies_ms)
    ]


def test_jobs_per_second_is_from_the_first_enqueue_to_the_last_done():
    records = jobs([10.0] * 100)  # enqueued over 0.99 s, the last done 10 ms after its enqueue

    figures = summarize(records, expected=100)

    assert figures.wall_s == pytest.approx(1.0)
    assert figures.jobs_per_s == pytest.approx(100.0)
    assert (figures.done, figures.missing, figures.duplicates) == (100, 0, 0)


def test_p99_of_a_hundred_is_the_ninety_ninth_value_measured():
    figures = summarize(jobs([float(ms) for ms in range(1, 101)]), expected=100)

    assert figures.p50_ms == pytest.approx(50.0)
    assert figures.p99_ms == pytest.approx(99.0)
    assert figures.max_ms == pytest.approx(100.0)


def test_a_redelivered_job_counts_once_with_its_first_completion():
    records = [*jobs([5.0, 5.0]), Done(1, 100.01, 100.5)]

    figures = summarize(records, expected=2)

    assert (figures.done, figures.duplicates) == (2, 1)
    assert figures.max_ms == pytest.approx(5.0)


def test_jobs_never_done_are_missing():
    assert summarize(jobs([1.0] * 3), expected=5).missing == 2


def test_a_record_from_another_run_is_refused():
    with pytest.raises(ConfigError, match="not one of this run"):
        summarize(jobs([1.0] * 3), expected=2)


def test_a_run_with_nothing_done_has_no_figures():
    with pytest.raises(ConfigError, match="no job"):
        summarize([], expected=10)


def test_percentile_is_nearest_rank():
    values = [4.0, 1.0, 3.0, 2.0]

    assert [percentile(values, p) for p in (1, 25, 26, 50, 75, 100)] == [
        1.0,
        1.0,
        2.0,
        2.0,
        3.0,
        4.0,
    ]


@pytest.mark.parametrize(("values", "p"), [([], 50), ([1.0], 0), ([1.0], 101)])
def test_percentile_refuses_no_values_and_out_of_range(values, p):
    with pytest.raises(ConfigError):
        percentile(values, p)


def test_ratio_of_ours_to_theirs():
    assert ratio(3.0, 2.0) == 1.5


@pytest.mark.parametrize(("ours", "theirs"), [(1.0, 0.0), (math.inf, 1.0), (1.0, math.nan)])
def test_ratio_is_none_when_there_is_no_figure_to_divide(ours, theirs):
    assert ratio(ours, theirs) is None

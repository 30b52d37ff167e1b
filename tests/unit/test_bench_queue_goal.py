"""The issue's goal for the queue, as one sentence: at least 1.5x Celery's jobs/s at a lower p99."""

from millionscale.bench.queue_runs import goal_verdict


def test_faster_enough_and_a_lower_p99_meets_the_goal():
    assert goal_verdict(1.6, 0.8, 1.5).startswith("met: 1.60x their jobs/s")


def test_fast_enough_but_a_p99_as_high_does_not():
    assert goal_verdict(2.0, 1.0, 1.5).startswith("NOT met")


def test_a_lower_p99_but_too_slow_does_not():
    assert goal_verdict(1.49, 0.5, 1.5).startswith("NOT met")


def test_a_missing_figure_says_so():
    assert goal_verdict(None, 0.5, 1.5).startswith("no figure")

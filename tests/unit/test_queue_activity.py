"""The queue's activity over a run: deliveries the workers ended, by outcome and task,
from two readings of their counters, and what the broker held at the end."""

import pytest

from millionscale.errors import QueueError
from millionscale.queue import QueueStatus
from millionscale.queue.activity import WorkerReading, activity

EXPOSITION = """\
# HELP millionscale_queue_jobs_total Deliveries a worker ended, by task and outcome
# TYPE millionscale_queue_jobs_total counter
millionscale_queue_jobs_total{outcome="done",task="thumbnail"} 121.0
millionscale_queue_jobs_total{outcome="done",task="fanout"} 120.0
millionscale_queue_jobs_total{outcome="retried",task="fanout"} 2.0
millionscale_queue_jobs_created{outcome="done",task="thumbnail"} 1.7963939222371535e+09
# HELP millionscale_queue_running_jobs Jobs this worker is running
# TYPE millionscale_queue_running_jobs gauge
millionscale_queue_running_jobs 0.0
"""


def reading(name: str, **counts: int) -> WorkerReading:
    """``thumbnail_done=3`` is task thumbnail, outcome done."""
    outcomes = {}
    for key, value in counts.items():
        task, outcome = key.rsplit("_", 1)
        outcomes[task, outcome] = value
    return WorkerReading(name, outcomes)


def status(**fields: float) -> QueueStatus:
    values = {
        "ready": 0,
        "in_flight": 0,
        "delayed": 0,
        "dead_letters": 0,
        "oldest_age_s": 0.0,
        "redelivered": 0,
    }
    values.update(fields)
    return QueueStatus(**values)  # type: ignore[arg-type]


def test_a_workers_metrics_give_its_outcomes_by_task():
    parsed = WorkerReading.from_metrics("worker-1", EXPOSITION)

    assert parsed.outcomes == {
        ("thumbnail", "done"): 121,
        ("fanout", "done"): 120,
        ("fanout", "retried"): 2,
    }


def test_a_worker_that_ended_nothing_yet_has_no_outcomes():
    assert WorkerReading.from_metrics("worker-1", "").outcomes == {}


def test_a_page_that_is_not_an_exposition_is_a_queue_error_naming_the_worker():
    with pytest.raises(QueueError, match="worker-2"):
        WorkerReading.from_metrics("worker-2", "<html>not metrics</html>\n{")


def test_the_run_is_the_difference_between_the_readings_summed_over_workers():
    before = [reading("worker-1", thumbnail_done=10, fanout_done=10), reading("worker-2")]
    after = [
        reading("worker-1", thumbnail_done=30, fanout_done=25, fanout_retried=1),
        reading("worker-2", thumbnail_done=5, fanout_done=9, thumbnail_dead=1),
    ]

    result = activity(before, after, status())

    assert (result.done, result.retried, result.dead) == (49, 1, 1)
    assert result.done_by_task == (("thumbnail", 25), ("fanout", 24))  # most done first
    assert result.workers == ("worker-1", "worker-2")


def test_a_worker_started_during_the_run_or_restarted_counts_from_zero():
    before = [reading("worker-1", thumbnail_done=500)]
    after = [reading("worker-1", thumbnail_done=4), reading("worker-2", thumbnail_done=3)]

    result = activity(before, after, None)

    assert result.done == 7


def test_the_sentence_says_what_was_done_and_what_is_left():
    after = [reading("worker-1", thumbnail_done=46, fanout_done=46)]

    result = activity([], after, status(ready=2, in_flight=1, oldest_age_s=1.3, dead_letters=1))

    assert result.sentence() == (
        "queue: workers ended 92 jobs during the load, 92 done (fanout 46, thumbnail 46), "
        "0 retried, 0 dead-lettered, by 1 worker (worker-1); "
        "at the end 3 waiting (the oldest 1.3 s old), 0 delayed, 1 dead letter"
    )


def test_an_empty_queue_at_the_end_has_no_oldest_job_to_name():
    result = activity([], [reading("worker-1"), reading("worker-2")], status())

    assert result.sentence() == (
        "queue: workers ended 0 jobs during the load, 0 done, 0 retried, 0 dead-lettered, "
        "by 2 workers (worker-1, worker-2); at the end 0 waiting, 0 delayed, 0 dead letters"
    )


def test_a_broker_not_read_at_the_end_is_said_so():
    result = activity([], [reading("worker-1", fanout_done=1)], None)

    assert result.sentence().endswith("; the broker could not be read at the end")
    assert result.to_json()["end"] is None


def test_the_json_has_the_counts_and_the_end_state():
    result = activity([], [reading("worker-1", thumbnail_done=2)], status(delayed=4))

    assert result.to_json() == {
        "done": 2,
        "retried": 0,
        "dead_lettered": 0,
        "done_by_task": {"thumbnail": 2},
        "workers": ["worker-1"],
        "end": {
            "depth": 0,
            "ready": 0,
            "in_flight": 0,
            "delayed": 4,
            "dead_letters": 0,
            "oldest_age_s": 0.0,
            "redelivered": 0,
        },
    }

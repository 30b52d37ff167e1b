"""The queue's Prometheus metrics. Labels are bounded: a task is one of the
worker's registered task names (anything else is ``unknown``), an outcome is
one of ``done``, ``retried``, ``dead``."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

from millionscale.queue.broker import QueueStatus

__all__ = [
    "DEPTH",
    "JOB_SECONDS",
    "OLDEST_AGE",
    "OUTCOMES",
    "RUNNING",
    "known_task",
    "observe_status",
]

OUTCOMES = Counter(
    "millionscale_queue_jobs", "Deliveries a worker ended, by task and outcome", ["task", "outcome"]
)
JOB_SECONDS = Histogram(
    "millionscale_queue_job_seconds",
    "How long a job's handler ran, for jobs done",
    ["task"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
RUNNING = Gauge("millionscale_queue_running_jobs", "Jobs this worker is running")
DEPTH = Gauge(
    "millionscale_queue_depth", "Jobs in the queue by state, as the broker last said", ["state"]
)
OLDEST_AGE = Gauge(
    "millionscale_queue_oldest_age_seconds", "Age of the oldest due job not done yet"
)
REDELIVERED = Gauge(
    "millionscale_queue_redelivered", "Deliveries in flight that are not a job's first"
)


def known_task(task: str, handlers: Mapping[str, object]) -> str:
    """``task`` as a label value: itself if registered, else ``unknown``."""
    return task if task in handlers else "unknown"


def observe_status(status: QueueStatus) -> None:
    """Set the queue gauges from one :class:`QueueStatus`."""
    DEPTH.labels("ready").set(status.ready)
    DEPTH.labels("in_flight").set(status.in_flight)
    DEPTH.labels("delayed").set(status.delayed)
    DEPTH.labels("dead").set(status.dead_letters)
    OLDEST_AGE.set(status.oldest_age_s)
    REDELIVERED.set(status.redelivered)

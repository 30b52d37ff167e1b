"""The queue's Prometheus metrics. Labels are bounded: a task is one of the
worker's registered task names (anything else is ``unknown``), an outcome is
one of ``done``, ``retried``, ``dead``, a queue is the name the process was
started on (``--queue``).

Two kinds, exported by different processes:

- **per worker** (each worker process's own work): :data:`OUTCOMES`,
  :data:`JOB_SECONDS`, :data:`RUNNING`; sum them across workers;
- **per queue** (the broker's reading, the same whoever reads it): depth by
  state, the oldest job's age, deliveries in flight that are redeliveries. One
  process per queue exports them, the one that reads the queue's status anyway
  (the autoscaler, or the one worker started with ``--status-gauges``): a
  process that never read the status exports none of them (no 0 that is not a
  reading), and N workers do not export one reading N times.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from millionscale.queue.broker import QueueStatus

__all__ = [
    "DEPTH",
    "JOB_SECONDS",
    "OLDEST_AGE",
    "OUTCOMES",
    "REDELIVERED",
    "RUNNING",
    "known_task",
    "observe_status",
    "observing",
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
    "millionscale_queue_depth",
    "Jobs in the queue by state, as the broker last said",
    ["queue", "state"],
)
OLDEST_AGE = Gauge(
    "millionscale_queue_oldest_age_seconds",
    "Age of the oldest due job not done yet, as the broker last said",
    ["queue"],
)
REDELIVERED = Gauge(
    "millionscale_queue_redelivered",
    "Deliveries in flight that are not a job's first, as the broker last said",
    ["queue"],
)


def known_task(task: str, handlers: Mapping[str, object]) -> str:
    """``task`` as a label value: itself if registered, else ``unknown``."""
    return task if task in handlers else "unknown"


def observe_status(queue: str, status: QueueStatus) -> None:
    """Set queue ``queue``'s gauges from one :class:`QueueStatus`."""
    DEPTH.labels(queue, "ready").set(status.ready)
    DEPTH.labels(queue, "in_flight").set(status.in_flight)
    DEPTH.labels(queue, "delayed").set(status.delayed)
    DEPTH.labels(queue, "dead").set(status.dead_letters)
    OLDEST_AGE.labels(queue).set(status.oldest_age_s)
    REDELIVERED.labels(queue).set(status.redelivered)


def observing(
    queue: str, status: Callable[[], Awaitable[QueueStatus]]
) -> Callable[[], Coroutine[Any, Any, QueueStatus]]:
    """``status`` that also sets queue ``queue``'s gauges from each reading it returns
    (a failed read raises as ``status`` does, and leaves them at the last reading)."""

    async def read() -> QueueStatus:
        reading = await status()
        observe_status(queue, reading)
        return reading

    return read

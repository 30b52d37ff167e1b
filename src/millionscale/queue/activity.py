"""What the queue did over a run: the jobs its workers ended, and what it held at the end.

Two readings of every worker's outcome counter (``millionscale_queue_jobs_total``
by task and outcome, on the worker's ``/metrics``: :mod:`.metrics`), before and
after a run, give the deliveries the workers ended during it:

- **done**: acked after the handler succeeded (a job's effect, once: a
  redelivery the idempotency key skips is done too);
- **retried**: the handler failed and the job was handed back with a delay;
- **dead**: given up on (malformed, no handler, retries used up).

The broker's :class:`~millionscale.queue.broker.QueueStatus` after the run says
what is left: jobs due and not done (ready or in flight), the age of the oldest,
delayed jobs, and the dead letters held in all (from before the run too).

A counter that went down between the readings (the worker restarted) counts
from zero: its delta is the second reading. A worker missing from the first
reading (started meanwhile, by the autoscaler) counts from zero too. A worker
missing from the second (drained meanwhile) is not counted: what it did went
with its process, so the tally is a lower bound when workers were removed
during the run. Pure: the readings come from the caller
(``millionscale.demo`` scrapes the workers and asks the broker).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from millionscale.errors import QueueError
from millionscale.queue.broker import QueueStatus

__all__ = ["OUTCOMES_SAMPLE", "QueueActivity", "WorkerReading", "activity"]

OUTCOMES_SAMPLE = "millionscale_queue_jobs_total"  # queue.metrics.OUTCOMES, as exposed
_OUTCOMES = ("done", "retried", "dead")  # the worker's outcome labels (queue.metrics)


@dataclass(frozen=True, slots=True)
class WorkerReading:
    """One worker's ended deliveries at one moment: ``(task, outcome) -> count``."""

    name: str
    outcomes: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def from_metrics(cls, name: str, text: str) -> WorkerReading:
        """From the worker's Prometheus text exposition; :class:`QueueError` if it is
        not one. A worker that has ended no delivery yet has no sample: no outcomes."""
        outcomes: dict[tuple[str, str], int] = {}
        try:
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name != OUTCOMES_SAMPLE:
                        continue
                    key = (sample.labels.get("task", ""), sample.labels.get("outcome", ""))
                    outcomes[key] = outcomes.get(key, 0) + int(sample.value)
        except (ValueError, TypeError, IndexError) as error:
            raise QueueError(
                f"worker {name}'s /metrics is not a Prometheus exposition: {error}",
                hint="scrape the worker's own port (python -m millionscale.queue serves it)",
            ) from None
        return cls(name, outcomes)


@dataclass(frozen=True, slots=True)
class QueueActivity:
    """The queue over a run: deliveries ended by outcome, done by task, the end state."""

    done: int
    retried: int
    dead: int
    done_by_task: tuple[tuple[str, int], ...]  # most done first, then by name
    workers: tuple[str, ...]  # the workers read after the run
    status: QueueStatus | None  # the broker's, after the run (None: not read)

    def sentence(self) -> str:
        """``queue: workers ended 92 jobs during the load, 92 done (fanout 46,
        thumbnail 46), 0 retried, 0 dead-lettered, by 1 worker (worker-1); at the
        end 0 waiting, 0 delayed, 0 dead letters``."""
        tasks = ", ".join(f"{task} {count:,}" for task, count in self.done_by_task)
        ended = self.done + self.retried + self.dead
        count = len(self.workers)
        head = (
            f"queue: workers ended {ended:,} jobs during the load, {self.done:,} done"
            + (f" ({tasks})" if tasks else "")
            + f", {self.retried:,} retried, {self.dead:,} dead-lettered, "
            f"by {count} worker{'' if count == 1 else 's'}"
            + (f" ({', '.join(self.workers)})" if self.workers else "")
        )
        if self.status is None:
            return f"{head}; the broker could not be read at the end"
        s = self.status
        oldest = f" (the oldest {s.oldest_age_s:.1f} s old)" if s.depth and s.oldest_age_s else ""
        return (
            f"{head}; at the end {s.depth:,} waiting{oldest}, {s.delayed:,} delayed, "
            f"{s.dead_letters:,} dead letter{'' if s.dead_letters == 1 else 's'}"
        )

    def to_json(self) -> dict[str, Any]:
        status = self.status
        return {
            "done": self.done,
            "retried": self.retried,
            "dead_lettered": self.dead,
            "done_by_task": dict(self.done_by_task),
            "workers": list(self.workers),
            "end": None
            if status is None
            else {
                "depth": status.depth,
                "ready": status.ready,
                "in_flight": status.in_flight,
                "delayed": status.delayed,
                "dead_letters": status.dead_letters,
                "oldest_age_s": status.oldest_age_s,
                "redelivered": status.redelivered,
            },
        }


def _delta(before: WorkerReading | None, after: WorkerReading, key: tuple[str, str]) -> int:
    late = after.outcomes.get(key, 0)
    early = before.outcomes.get(key, 0) if before is not None else 0
    return late - early if late >= early else late  # went down: restarted, counts from zero


def activity(
    before: Iterable[WorkerReading],
    after: Sequence[WorkerReading],
    status: QueueStatus | None,
) -> QueueActivity:
    """The queue's activity between two readings of the workers (those in ``after``,
    in its order), with the broker's ``status`` after the run."""
    earlier = {reading.name: reading for reading in before}
    totals = dict.fromkeys(_OUTCOMES, 0)
    done_by_task: dict[str, int] = {}
    for reading in after:
        old = earlier.get(reading.name)
        for key in reading.outcomes:
            task, outcome = key
            if outcome not in totals:
                continue
            change = _delta(old, reading, key)
            totals[outcome] += change
            if outcome == "done" and change:
                done_by_task[task] = done_by_task.get(task, 0) + change
    return QueueActivity(
        done=totals["done"],
        retried=totals["retried"],
        dead=totals["dead"],
        done_by_task=tuple(sorted(done_by_task.items(), key=lambda item: (-item[1], item[0]))),
        workers=tuple(reading.name for reading in after),
        status=status,
    )

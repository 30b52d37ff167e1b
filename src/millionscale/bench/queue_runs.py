"""The figures of one queue benchmark run, from what its workers recorded.

Pure. ``bench/queue_throughput.py`` runs the same jobs through several queue
systems; each job carries its number and its enqueue time (Unix seconds,
taken by the producer just before it publishes), and the worker that ran it
records one line when the job's work is done::

    SEQ ENQUEUED_AT DONE_AT

(:func:`record_line` writes it, :func:`parse_record` reads it). From those
lines alone, measured the same way for every system, :func:`summarize` gives:

- **jobs/s**: distinct jobs done / (last done - first enqueue);
- **enqueue→done latency** p50 and p99, in ms, one value per distinct job
  (its first completion: a redelivered job counts once, and the extra
  completions are reported as ``duplicates``);
- **missing**: jobs enqueued that no line reports (a run with any is not a
  figure to quote).

Percentiles are nearest-rank (the smallest value with at least p% of the
values at or below it), so p99 of 500 jobs is the 495th fastest, a value that
was measured, never an interpolation.

The scaler's figure (a burst drained by one fixed worker, then by workers the
scaler grows) adds :func:`worker_seconds`, what each drain cost in workers
run, from the counts the run went through, and :func:`drain_verdict`, the
comparison in one sentence.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from millionscale.errors import ConfigError

__all__ = [
    "Done",
    "RunFigures",
    "drain_verdict",
    "goal_verdict",
    "parse_record",
    "percentile",
    "ratio",
    "record_line",
    "summarize",
    "worker_seconds",
]


@dataclass(frozen=True, slots=True)
class Done:
    """One completion of job ``seq``: when it was enqueued and when its work ended."""

    seq: int
    enqueued_at: float
    done_at: float

    @property
    def latency_s(self) -> float:
        return self.done_at - self.enqueued_at


@dataclass(frozen=True, slots=True)
class RunFigures:
    """What one run of ``expected`` jobs through one system measured."""

    expected: int
    done: int  # distinct jobs done
    duplicates: int  # completions beyond each job's first (at-least-once redeliveries)
    missing: int
    wall_s: float  # first enqueue to last done
    jobs_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def record_line(seq: int, enqueued_at: float, done_at: float) -> str:
    """The line a worker records for a job done (``repr`` keeps every digit of the times)."""
    return f"{seq} {enqueued_at!r} {done_at!r}"


def parse_record(line: str | bytes) -> Done:
    """The completion in ``line``; ConfigError naming the line if it is not one."""
    text = line.decode("ascii", "replace") if isinstance(line, bytes) else line
    fields = text.split()
    try:
        if len(fields) != 3:
            raise ValueError
        done = Done(int(fields[0]), float(fields[1]), float(fields[2]))
    except ValueError:
        raise ConfigError(
            f"not a completion record (SEQ ENQUEUED_AT DONE_AT): {text!r}",
            hint="the workers and the benchmark disagree on the record format",
        ) from None
    if done.seq < 0 or not (math.isfinite(done.enqueued_at) and math.isfinite(done.done_at)):
        raise ConfigError(f"a completion record with a negative job or a time not finite: {text!r}")
    return done


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of ``values``; ConfigError if empty."""
    if not values:
        raise ConfigError("no values to take a percentile of")
    if not 0 < p <= 100:
        raise ConfigError(f"a percentile is above 0 and at most 100, not {p}")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def summarize(records: Iterable[Done], expected: int) -> RunFigures:
    """The run's figures from its completions (jobs ``0 .. expected-1``).

    ConfigError when nothing was done, or a record names a job outside the
    run (a left-over from another run: the lists must be kept apart).
    """
    first: dict[int, Done] = {}
    completions = 0
    for done in records:
        if done.seq >= expected:
            raise ConfigError(f"job {done.seq} is not one of this run's {expected}")
        completions += 1
        kept = first.get(done.seq)
        if kept is None or done.done_at < kept.done_at:
            first[done.seq] = done
    if not first:
        raise ConfigError("no job of the run was done")
    start = min(done.enqueued_at for done in first.values())
    end = max(done.done_at for done in first.values())
    latencies_ms = [done.latency_s * 1000 for done in first.values()]
    wall_s = end - start
    return RunFigures(
        expected=expected,
        done=len(first),
        duplicates=completions - len(first),
        missing=expected - len(first),
        wall_s=wall_s,
        jobs_per_s=len(first) / wall_s if wall_s > 0 else math.inf,
        p50_ms=percentile(latencies_ms, 50),
        p99_ms=percentile(latencies_ms, 99),
        max_ms=max(latencies_ms),
    )


def ratio(ours: float, theirs: float) -> float | None:
    """``ours / theirs``, or None when ``theirs`` is 0 or either is not finite."""
    if theirs == 0 or not (math.isfinite(ours) and math.isfinite(theirs)):
        return None
    return ours / theirs


def goal_verdict(speed: float | None, p99: float | None, goal: float) -> str:
    """One sentence on the issue's goal: ours at ``goal`` x their jobs/s or more, at a
    lower p99. ``speed`` and ``p99`` are ours / theirs, as :func:`ratio` gives them."""
    if speed is None or p99 is None:
        return "no figure: a system has no complete run"
    met = speed >= goal and p99 < 1
    return (
        f"{'met' if met else 'NOT met'}: {speed:.2f}x their jobs/s (goal >= {goal:g}x), "
        f"p99 {p99:.2f}x theirs (goal < 1x)"
    )


def since(counts: Sequence[tuple[float, int]], start_s: float) -> list[tuple[float, int]]:
    """``counts`` (``(at_s, workers)`` in time order) re-timed from ``start_s``: the
    count that held at ``start_s`` is the first, at 0; earlier changes are dropped."""
    held = [workers for at, workers in counts if at <= start_s]
    first = [(0.0, held[-1])] if held else []
    return first + [(at - start_s, workers) for at, workers in counts if at > start_s]


def worker_seconds(counts: Sequence[tuple[float, int]], end_s: float) -> float:
    """Worker-seconds from 0 to ``end_s``: ``counts`` are ``(since_s, workers)``
    changes in time order (the first at 0), each count holding until the next.

    ConfigError for no counts, a first change after 0, changes out of order or
    a negative count: the integral of such a timeline is not a figure.
    """
    if not counts or counts[0][0] > 0:
        raise ConfigError("a run's worker counts start at 0 s", hint="record the count at start")
    ordered = all(a[0] <= b[0] for a, b in itertools.pairwise(counts))
    if not ordered or any(workers < 0 for _, workers in counts):
        raise ConfigError(f"worker counts out of order or negative: {list(counts)!r}")
    ends = [since for since, _ in counts[1:]] + [end_s]
    return sum(
        workers * max(0.0, min(until, end_s) - since)
        for (since, workers), until in zip(counts, ends, strict=True)
    )


def drain_verdict(fixed_s: float | None, scaled_s: float | None, most: int) -> str:
    """One sentence: the burst's drain time with one fixed worker and with the scaler
    (growing up to ``most`` workers), medians in seconds; None: no complete run."""
    if fixed_s is None or scaled_s is None:
        return "no figure: a side has no complete run"
    speed = ratio(fixed_s, scaled_s)
    if speed is None:
        return "no figure: a drain time is zero or not finite"
    return (
        f"the scaler (1 to {most} workers) drained the burst in {scaled_s:.1f} s, "
        f"{speed:.2f}x as fast as one fixed worker ({fixed_s:.1f} s)"
    )

"""Latencies, errors and a per-second timeline of one open-loop run.

Latency is ``completed - intended``: from the time the schedule meant to send
a request to the time its answer was complete. It is kept in an HdrHistogram
(the structure wrk2 and the JVM latency tools use): microseconds from 1 µs to
60 s with 3 significant digits, so every percentile is within 0.1 % of the
truth and memory does not grow with the number of requests.

What counts where:

- every scheduled request counts once in ``requests``, as ok or as one error;
- a request that got an HTTP answer (ok, ``status_4xx``, ``status_5xx``) is
  timed; errors without an answer (``timeout``, ``connect``, ``other``,
  ``overload``) are counted but not timed, since they have no completion time;
- ``throughput`` is ok answers per second of the run, which lasts from the
  first intended send to the last completion, and at least ``duration_s``;
- the timeline has one entry per second of *intended* time: a stall shows up
  in the second in which the stalled requests were meant to be sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from millionscale.bench.outcome import ERROR_KINDS, ErrorKind, Outcome
from millionscale.bench.schedule import validate_rate_and_duration

__all__ = ["LATE_SEND_MS", "Latency", "Recorder", "Summary", "Window"]

LOWEST_US = 1  # HdrHistogram's lowest discernible value: 1 µs
HIGHEST_US = 60_000_000  # 60 s; longer latencies are recorded as 60 s
SIGNIFICANT_DIGITS = 3  # wrk2's and HdrHistogram's usual precision: 0.1 %
# Per-second windows only feed charts: 1 % precision at 10 KB a window (4-byte
# counts) instead of 70 KB, so an hour-long run keeps its timeline in ~36 MB.
WINDOW_DIGITS = 2
WINDOW_WORD_SIZE = 4
WINDOW_S = 1.0
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
# A send this much after its intended time counts as late: 10 ms is ten times
# asyncio's timer slack on Linux (~1 ms, docs/bench.md), so it is the generator
# falling behind, not the timer's granularity.
LATE_SEND_MS = 10.0

_ANSWERED: frozenset[ErrorKind | None] = frozenset({None, "status_4xx", "status_5xx"})


def _to_us(seconds: float) -> int:
    """Seconds as whole microseconds, clamped into the histogram's range."""
    return min(HIGHEST_US, max(LOWEST_US, round(seconds * 1_000_000)))


def _ms(us: int) -> float:
    return us / 1000.0


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency percentiles in milliseconds; ``None`` when nothing was timed."""

    p50: float | None
    p90: float | None
    p99: float | None
    p999: float | None
    max: float | None

    def to_json(self) -> dict[str, float | None]:
        return {
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "p999": self.p999,
            "max": self.max,
        }


@dataclass(frozen=True, slots=True)
class Window:
    """One second of intended time: ok answers per second, p50/p99 and errors."""

    t: int
    throughput: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "throughput": self.throughput,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "errors": self.errors,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything a run measured, as an immutable record.

    ``errors`` lists every kind of :data:`ERROR_KINDS` in that order, zeros
    included, so the JSON shape never depends on what happened.
    What the generator saw of itself, shown to people (and read by
    :func:`millionscale.bench.diagnosis.diagnose`) but not part of the JSON
    result: ``max_send_lag_ms``, how late it sent its latest request;
    ``late_sends``, how many it sent more than :data:`LATE_SEND_MS` late;
    ``generator_cpu_share``, the CPU its process used while scheduling, in
    cores (1.0: one core busy throughout; ``None`` when not measured);
    ``max_in_flight``, the most requests in progress at once (waiting for a
    connection included); ``connections``, the size of the pool they shared
    (``None`` when the run had no pool to speak of).
    """

    rate: float
    duration_s: float
    throughput: float
    requests: int
    latency_ms: Latency
    errors: tuple[tuple[ErrorKind, int], ...]
    timeline: tuple[Window, ...]
    max_send_lag_ms: float = 0.0
    late_sends: int = 0
    generator_cpu_share: float | None = None
    max_in_flight: int = 0
    connections: int | None = None

    @property
    def error_count(self) -> int:
        return sum(count for _, count in self.errors)

    @property
    def error_rate(self) -> float:
        """Errors of every kind over requests scheduled; 0.0 for an empty run."""
        return self.error_count / self.requests if self.requests else 0.0

    def errors_of(self, kind: ErrorKind) -> int:
        return dict(self.errors)[kind]

    def to_json(self) -> dict[str, Any]:
        """The JSON result: exactly these keys, ready for :func:`json.dumps`."""
        return {
            "rate": self.rate,
            "duration_s": self.duration_s,
            "throughput": self.throughput,
            "requests": self.requests,
            "latency_ms": self.latency_ms.to_json(),
            "errors": dict(self.errors),
            "timeline": [window.to_json() for window in self.timeline],
        }


@dataclass(slots=True)
class _WindowCounts:
    ok: int = 0
    errors: int = 0
    histogram: Any = field(
        default_factory=lambda: HdrHistogram(
            LOWEST_US, HIGHEST_US, WINDOW_DIGITS, word_size=WINDOW_WORD_SIZE
        )
    )


class Recorder:
    """Collects the outcome of every request of one run; :meth:`summary` reads it.

    Not thread-safe: one event loop records into it.
    """

    def __init__(self, rate: float, duration_s: float, start: float) -> None:
        validate_rate_and_duration(rate, duration_s)
        self.rate = rate
        self.duration_s = duration_s
        self.start = start
        self._histogram = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        self._windows: dict[int, _WindowCounts] = {}
        self._window_count = max(1, math.ceil(duration_s / WINDOW_S - 1e-9))
        self._errors: dict[ErrorKind, int] = dict.fromkeys(ERROR_KINDS, 0)
        self._ok = 0
        self._last_completed = start
        self._max_send_lag_s = 0.0
        self._late_sends = 0
        self._cpu_share: float | None = None
        self._max_in_flight = 0

    @property
    def requests(self) -> int:
        """Requests accounted for so far: ok plus every error."""
        return self._ok + sum(self._errors.values())

    def record(self, intended: float, completed: float, outcome: Outcome) -> None:
        """Account for one request meant to be sent at ``intended``, done at ``completed``."""
        window = self._window(intended)
        if outcome.error is None:
            self._ok += 1
            window.ok += 1
        else:
            self._errors[outcome.error] += 1
            window.errors += 1
        if outcome.error in _ANSWERED:
            latency_us = _to_us(completed - intended)
            self._histogram.record_value(latency_us)
            window.histogram.record_value(latency_us)
            self._last_completed = max(self._last_completed, completed)

    def record_error(self, intended: float, kind: ErrorKind) -> None:
        """Account for a request that failed without an answer (never timed)."""
        self.record(intended, intended, Outcome.failed(kind))

    def note_send_lag(self, lag_s: float) -> None:
        """Remember how late the generator sent a request (for :attr:`Summary.max_send_lag_ms`)."""
        self._max_send_lag_s = max(self._max_send_lag_s, lag_s)
        if lag_s * 1000.0 > LATE_SEND_MS:
            self._late_sends += 1

    def note_in_flight(self, count: int) -> None:
        """Remember how many requests were in progress at once (for ``max_in_flight``)."""
        self._max_in_flight = max(self._max_in_flight, count)

    def note_generator_cpu(self, cpu_s: float, wall_s: float) -> None:
        """The generator's process used ``cpu_s`` of CPU over ``wall_s`` of scheduling."""
        self._cpu_share = cpu_s / wall_s if wall_s > 0 else None

    def _window(self, intended: float) -> _WindowCounts:
        index = min(self._window_count - 1, max(0, int((intended - self.start) // WINDOW_S)))
        counts = self._windows.get(index)
        if counts is None:
            counts = self._windows[index] = _WindowCounts()
        return counts

    def summary(self) -> Summary:
        """What was recorded so far, as an immutable record."""
        elapsed = max(self.duration_s, self._last_completed - self.start)
        return Summary(
            rate=self.rate,
            duration_s=self.duration_s,
            throughput=self._ok / elapsed,
            requests=self.requests,
            latency_ms=_latency(self._histogram),
            errors=tuple(self._errors.items()),
            timeline=tuple(self._timeline()),
            max_send_lag_ms=self._max_send_lag_s * 1000.0,
            late_sends=self._late_sends,
            generator_cpu_share=self._cpu_share,
            max_in_flight=self._max_in_flight,
        )

    def to_json(self) -> dict[str, Any]:
        """Shorthand for ``summary().to_json()``."""
        return self.summary().to_json()

    def _timeline(self) -> list[Window]:
        windows = []
        for t in range(self._window_count):
            counts = self._windows.get(t, _EMPTY)
            length = min(WINDOW_S, self.duration_s - t * WINDOW_S)
            p50, p99 = _percentiles(counts.histogram, (50.0, 99.0))
            windows.append(
                Window(
                    t=t,
                    throughput=counts.ok / length,
                    p50_ms=p50,
                    p99_ms=p99,
                    errors=counts.errors,
                )
            )
        return windows


_EMPTY = _WindowCounts()


def _percentiles(histogram: Any, percentiles: tuple[float, ...]) -> list[float | None]:
    if histogram.get_total_count() == 0:
        return [None for _ in percentiles]
    values = histogram.get_percentile_to_value_dict(list(percentiles))
    return [_ms(int(values[p])) for p in percentiles]


def _latency(histogram: Any) -> Latency:
    p50, p90, p99, p999 = _percentiles(histogram, PERCENTILES)
    top = _ms(int(histogram.get_max_value())) if histogram.get_total_count() else None
    return Latency(p50=p50, p90=p90, p99=p99, p999=p999, max=top)

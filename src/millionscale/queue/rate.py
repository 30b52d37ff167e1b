"""What one busy worker completes per second, measured from a counter of finished jobs.

Pure; time is passed in. :class:`WorkerRate` takes, at each step of the
autoscaler, the queue's cumulative count of finished jobs
(:attr:`~.broker.QueueStatus.finished`: the broker's acks), how many workers
ran, and whether they had work; it returns jobs per second per worker over
the last ``window_s`` (:data:`WINDOW_S`), or None while that is unknown. The
scaler (:class:`~.scaler.Scaler`) sizes a step up with it:
``ceil(depth / (rate * target_backlog_s))``.

What counts, and why:

- Only **busy intervals**: from a step that saw due jobs (``depth > 0``) to the
  next step. An idle worker completes nothing because there is nothing to do,
  not because it is slow; counting idle time would make the rate, and so the
  count the scaler wants, too small. An interval ending with the queue empty
  still counts (its workers were busy until they cleared it): its rate is a
  lower bound, which errs on the side of more workers.
- **Per worker**: the interval's finished jobs over (seconds x the workers
  counted at its start). A worker that is starting counts already, so right
  after a scale-up the rate reads low for one interval (more workers wanted,
  never fewer).
- **A counter that goes back** (the queue was made again, the broker lost its
  store) forgets the past: the next interval starts from the new value.
- **Unknown** (None) until the window holds at least :data:`MIN_BUSY_S` of
  busy time and some job finished in it; then the scaler decides from the age
  alone, as with no rate at all.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from millionscale.errors import ConfigError

__all__ = ["MIN_BUSY_S", "WINDOW_S", "WorkerRate"]

# Six of the autoscaler's 5 s steps: long enough to average jobs of a few seconds,
# short enough to follow a change of job mix within a scale-up cooldown or three.
WINDOW_S = 30.0
MIN_BUSY_S = 2.0  # less busy time than this says more about the sampling than the workers


@dataclass(frozen=True, slots=True)
class _Interval:
    ended_at: float
    seconds: float
    worker_seconds: float
    finished: int


@dataclass(slots=True)
class WorkerRate:
    """Jobs per second per busy worker over the last ``window_s``; see the module docstring."""

    window_s: float = WINDOW_S
    min_busy_s: float = MIN_BUSY_S
    _last: tuple[float, int, int, bool] | None = None  # at, finished, workers, busy
    _intervals: deque[_Interval] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if not self.window_s > 0 or not 0 <= self.min_busy_s <= self.window_s:
            raise ConfigError(
                f"a rate's window must be above 0 s and its minimum busy time within it, "
                f"not {self.window_s!r} and {self.min_busy_s!r}",
                hint=f"the defaults are {WINDOW_S} s and {MIN_BUSY_S} s",
            )

    def observe(self, now: float, finished: int, workers: int, *, busy: bool) -> float | None:
        """Record one step: at ``now``, ``finished`` jobs done so far (cumulative),
        ``workers`` running, ``busy`` if jobs were due. The rate after it."""
        last, self._last = self._last, (now, finished, workers, busy)
        if last is not None:
            at, before, counted, was_busy = last
            if finished < before:
                self._intervals.clear()  # a new counter: its past is no one's
            elif was_busy and now > at and counted > 0:
                self._intervals.append(
                    _Interval(now, now - at, (now - at) * counted, finished - before)
                )
        while self._intervals and self._intervals[0].ended_at <= now - self.window_s:
            self._intervals.popleft()
        return self.rate()

    def rate(self) -> float | None:
        """Jobs per second per worker over the window's busy intervals; None if unknown."""
        busy_s = sum(interval.seconds for interval in self._intervals)
        finished = sum(interval.finished for interval in self._intervals)
        if busy_s < self.min_busy_s or finished == 0:
            return None
        return finished / sum(interval.worker_seconds for interval in self._intervals)

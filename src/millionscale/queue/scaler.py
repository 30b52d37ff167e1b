"""How many workers the queue wants: the scaler's decision core, pure.

:meth:`Scaler.step` takes the time (from an injected clock), the queue's
:class:`~.broker.QueueStatus`, how many workers run, and what one busy worker
completes per second if that was measured; it returns :class:`Scale` or
:class:`Hold`, each with one sentence saying why. :mod:`.autoscale` runs it in
a loop and carries a :class:`Scale` out through the supervisor.

Two signals, and one rule per direction:

- **Behind** (scale up). The oldest due job waited longer than
  ``target_age_s`` (with jobs due: a queue holding only delayed jobs is not
  behind), or, with the per-worker rate known, the backlog
  ``depth / (workers * rate)`` is longer than ``target_backlog_s``; either by
  more than ``tolerance``. The count wanted is, for the age, Kubernetes HPA's
  proportional rule ``ceil(workers * age / target_age_s)``; for the backlog,
  the count that clears the depth within its target,
  ``ceil(depth / (rate * target_backlog_s))``; the larger of the two. One step
  adds at most ``max(workers, max_step_up)`` (double, or +4, whichever is
  more: HPA's default scale-up policies), and never goes past
  ``max_workers``. No scale-up within ``up_cooldown_s`` of the last change.
- **Quiet** (scale down). The queue is quiet when nothing is due, or when the
  oldest due job waited at most ``quiet_share`` of its target and, with the
  rate known, one worker fewer would still clear the depth within
  ``quiet_share`` of the backlog target. Only once it has been quiet without a
  break for ``stabilisation_s``, and ``down_cooldown_s`` after the last
  change, does a step take one worker away; never below ``min_workers``.
- Between the two (over ``quiet_share`` of a target, within ``1 + tolerance``
  of it) the count holds, and the quiet spell, if any, is broken: the gap is
  the hysteresis that keeps a count from flapping on a signal near its target.

A count outside ``[min_workers, max_workers]`` (scaled by hand, a worker that
failed) is brought to the nearest bound at the next step, cooldowns or not.
Every change, bounds included, starts both cooldowns again. A rate that is
``None``, zero, negative or not finite is unknown (nothing was completed to
measure it): the age decides alone. ``dead_letters``, ``delayed`` and
``redelivered`` are not work for more workers and do not count.

Guarantees (``tests/unit/test_queue_scaler_*.py``, one property among them):
every :class:`Scale` is within the bounds; two changes are never closer than
the cooldown of the second; a step up never more than doubles (or adds
``max_step_up``), a step down removes one worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from millionscale.errors import ConfigError
from millionscale.queue.broker import QueueStatus

__all__ = ["Hold", "Scale", "Scaler", "ScalerSettings", "ScalerStatistics"]

MIN_WORKERS = 1  # the supervisor keeps at least one replica of a set (topology.scaling)
MAX_WORKERS = 8
TARGET_AGE_S = 5.0  # a thumbnail a user waits for; issue 16's example target
TARGET_BACKLOG_S = 10.0  # the work waiting clears in 10 s at the rate measured
UP_COOLDOWN_S = 10.0  # a new worker starts and fetches within a few seconds
DOWN_COOLDOWN_S = 60.0  # KEDA's cooldownPeriod default is 300 s; ours stops processes, not pods
# Kubernetes HPA's downscale stabilisation window is 300 s, sized for pods that
# start in tens of seconds; a worker process starts in about a second, so two
# minutes of quiet (24 steps of the loop's 5 s) is enough to believe it.
STABILISATION_S = 120.0
MAX_STEP_UP = 4  # HPA's default scale-up policy: +100 % or +4 pods, the larger
TOLERANCE = 0.1  # HPA's --horizontal-pod-autoscaler-tolerance default
QUIET_SHARE = 0.5  # quiet at half the target: the band below 1.1 x is the hysteresis
WANTED_CAP = 1_000_000  # a count wanted is said as at most this (far over MAX_REPLICAS)


@dataclass(frozen=True, slots=True)
class Scale:
    """Run ``to`` workers; ``reason`` says why in one sentence."""

    to: int
    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    """Keep the count; ``reason`` says why in one sentence."""

    reason: str


@dataclass(frozen=True, slots=True)
class ScalerSettings:
    """The scaler's knobs (docs/queue.md); :class:`ConfigError` for nonsense."""

    min_workers: int = MIN_WORKERS
    max_workers: int = MAX_WORKERS
    target_age_s: float = TARGET_AGE_S
    target_backlog_s: float = TARGET_BACKLOG_S
    up_cooldown_s: float = UP_COOLDOWN_S
    down_cooldown_s: float = DOWN_COOLDOWN_S
    stabilisation_s: float = STABILISATION_S
    max_step_up: int = MAX_STEP_UP
    tolerance: float = TOLERANCE
    quiet_share: float = QUIET_SHARE

    def __post_init__(self) -> None:
        for name in ("min_workers", "max_workers", "max_step_up"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} must be a whole number, not {value!r}")
        if self.min_workers < 1:
            raise ConfigError(
                f"min_workers must be at least 1, not {self.min_workers}",
                hint="the supervisor keeps at least one replica of a worker set",
            )
        if self.max_workers < self.min_workers:
            raise ConfigError(
                f"max_workers ({self.max_workers}) is under min_workers ({self.min_workers})",
                hint="give max_workers >= min_workers (equal pins the count)",
            )
        if self.max_step_up < 1:
            raise ConfigError(
                f"max_step_up must be at least 1, not {self.max_step_up}",
                hint=f"the default adds up to {MAX_STEP_UP} workers (or doubles) per step",
            )
        for name in ("target_age_s", "target_backlog_s"):
            value = getattr(self, name)
            if not _number(value) or not value > 0:
                raise ConfigError(
                    f"{name} must be a number of seconds above 0, not {value!r}",
                    hint=f"the default is {getattr(ScalerSettings, name)} s",
                )
        for name in ("up_cooldown_s", "down_cooldown_s", "stabilisation_s"):
            value = getattr(self, name)
            if not _number(value) or not value >= 0:
                raise ConfigError(
                    f"{name} must be a number of seconds, 0 or more, not {value!r}",
                    hint=f"the default is {getattr(ScalerSettings, name)} s",
                )
        if not _number(self.tolerance) or not 0 <= self.tolerance < 1:
            raise ConfigError(
                f"tolerance must be from 0 to under 1, not {self.tolerance!r}",
                hint=f"the default is {TOLERANCE} (HPA's)",
            )
        if not _number(self.quiet_share) or not 0 < self.quiet_share < 1:
            raise ConfigError(
                f"quiet_share must be above 0 and under 1, not {self.quiet_share!r}",
                hint=f"the default is {QUIET_SHARE}: quiet at half a target",
            )


@dataclass(frozen=True, slots=True)
class ScalerStatistics:
    """What a :class:`Scaler` has decided so far, and the memory it decides with."""

    steps: int
    scale_ups: int
    scale_downs: int
    last_change_at: float | None  # when the last Scale was decided; None: never
    quiet_since: float | None  # start of the current quiet spell; None: not quiet


@dataclass(slots=True)
class Scaler:
    """The decision core; it remembers the last change and the quiet spell, nothing else.

    Feed it steps in time order. A :class:`Scale` it returns counts as a change
    from the moment it is returned, whether or not the caller manages to apply
    it: a refused change is asked for again no sooner than its cooldown.
    """

    settings: ScalerSettings = field(default_factory=ScalerSettings)
    _last_change_at: float | None = None
    _quiet_since: float | None = None
    _steps: int = 0
    _ups: int = 0
    _downs: int = 0

    def statistics(self) -> ScalerStatistics:
        return ScalerStatistics(
            self._steps, self._ups, self._downs, self._last_change_at, self._quiet_since
        )

    def step(
        self, now: float, status: QueueStatus, workers: int, rate: float | None = None
    ) -> Scale | Hold:
        """The decision at ``now`` for ``workers`` running, the queue being ``status``, and
        one busy worker completing ``rate`` jobs per second (None: not measured)."""
        self._steps += 1
        s = self.settings
        known = rate if rate is not None and math.isfinite(rate) and rate > 0 else None
        if workers < s.min_workers:
            return self._change(
                now, workers, s.min_workers, f"under the minimum of {s.min_workers}"
            )
        if workers > s.max_workers:
            return self._change(now, workers, s.max_workers, f"over the maximum of {s.max_workers}")
        reading = _Reading(s, status, workers, known)
        if reading.behind:
            self._quiet_since = None
            return self._up(now, workers, reading)
        if not reading.quiet:
            self._quiet_since = None
            return Hold(f"holding {_workers(workers)}: {reading.steady()}")
        if self._quiet_since is None:
            self._quiet_since = now
        return self._down(now, workers, reading, now - self._quiet_since)

    # -- inside --------------------------------------------------------------

    def _up(self, now: float, workers: int, reading: _Reading) -> Scale | Hold:
        s = self.settings
        wanted, why = reading.wanted()
        if workers >= s.max_workers:
            return Hold(f"holding {_workers(workers)}, the maximum: {why}")
        since = self._since(now)
        if since is not None and since < s.up_cooldown_s:
            return Hold(
                f"holding {_workers(workers)}: {why}; the last change was {since:.1f} s ago, "
                f"within the {s.up_cooldown_s:g} s scale-up cooldown"
            )
        step_limit = workers + max(workers, s.max_step_up)
        to = min(wanted, step_limit, s.max_workers)
        if to < wanted:
            limit = (
                f"at most {s.max_workers}"
                if to == s.max_workers
                else f"at most double or +{s.max_step_up} per step"
            )
            why = f"{why} ({wanted} wanted, {limit})"
        return self._change(now, workers, to, why)

    def _down(self, now: float, workers: int, reading: _Reading, quiet_for: float) -> Scale | Hold:
        s = self.settings
        why = reading.calm()
        if workers <= s.min_workers:
            return Hold(f"holding {_workers(workers)}, the minimum: {why}")
        if quiet_for < s.stabilisation_s:
            return Hold(
                f"holding {_workers(workers)}: {why}, quiet for {quiet_for:.1f} s of the "
                f"{s.stabilisation_s:g} s stabilisation window"
            )
        since = self._since(now)
        if since is not None and since < s.down_cooldown_s:
            return Hold(
                f"holding {_workers(workers)}: {why}, quiet for {quiet_for:.1f} s; the last "
                f"change was {since:.1f} s ago, within the {s.down_cooldown_s:g} s "
                "scale-down cooldown"
            )
        return self._change(now, workers, workers - 1, f"{why}, quiet for {quiet_for:.1f} s")

    def _since(self, now: float) -> float | None:
        return None if self._last_change_at is None else now - self._last_change_at

    def _change(self, now: float, workers: int, to: int, why: str) -> Scale:
        self._last_change_at = now
        if to > workers:
            self._ups += 1
        else:
            self._downs += 1
        return Scale(to, f"{workers} → {_workers(to)}: {why}")


@dataclass(frozen=True, slots=True)
class _Reading:
    """One step's signals, measured against the settings."""

    settings: ScalerSettings
    status: QueueStatus
    workers: int
    rate: float | None

    @property
    def age(self) -> float:
        """The oldest due job's wait; 0 when nothing is due (only delayed jobs, say)."""
        return self.status.oldest_age_s if self.status.depth > 0 else 0.0

    def backlog_s(self, workers: int) -> float | None:
        """How long ``workers`` take to clear the depth at the rate; None if unknown."""
        if self.rate is None:
            return None
        return self.status.depth / (max(workers, 1) * self.rate)

    @property
    def over(self) -> float:
        return 1.0 + self.settings.tolerance

    @property
    def age_behind(self) -> bool:
        return self.age > self.settings.target_age_s * self.over

    @property
    def backlog_behind(self) -> bool:
        backlog = self.backlog_s(self.workers)
        return backlog is not None and backlog > self.settings.target_backlog_s * self.over

    @property
    def behind(self) -> bool:
        return self.age_behind or self.backlog_behind

    @property
    def quiet(self) -> bool:
        s = self.settings
        if self.status.depth == 0:
            return True
        fewer = self.backlog_s(self.workers - 1)
        return self.age <= s.target_age_s * s.quiet_share and (
            fewer is None or fewer <= s.target_backlog_s * s.quiet_share
        )

    def wanted(self) -> tuple[int, str]:
        """The count the queue asks for while behind, and the sentence of the signal."""
        s = self.settings
        candidates: list[tuple[int, str]] = []
        if self.age_behind:
            count = _ceil(self.workers * self.age / s.target_age_s)
            candidates.append((count, f"{self._age()}, over the {s.target_age_s:g} s target"))
        backlog = self.backlog_s(self.workers)
        if self.backlog_behind and backlog is not None and self.rate is not None:
            count = _ceil(self.status.depth / (self.rate * s.target_backlog_s))
            candidates.append(
                (count, f"{self._backlog(backlog)}, over the {s.target_backlog_s:g} s target")
            )
        count, why = max(candidates, key=lambda c: c[0])
        return max(count, self.workers + 1), why

    def steady(self) -> str:
        """Neither behind nor quiet, in a sentence."""
        s = self.settings
        parts = [f"{self._age()}, within the {s.target_age_s:g} s target"]
        backlog = self.backlog_s(self.workers)
        if backlog is not None:
            parts.append(f"{self._backlog(backlog)}, within the {s.target_backlog_s:g} s target")
        return "; ".join(parts)

    def calm(self) -> str:
        """Quiet, in a sentence."""
        s = self.settings
        if self.status.depth == 0:
            return "no job is waiting"
        text = f"{self._age()}, at most {s.quiet_share:.0%} of the {s.target_age_s:g} s target"
        fewer = self.backlog_s(self.workers - 1)
        if fewer is not None and self.workers > 1:
            text += (
                f", and {_workers(self.workers - 1)} would clear {self._jobs()} in {fewer:.1f} s"
            )
        return text

    def _age(self) -> str:
        return f"the oldest job waited {self.age:.1f} s"

    def _jobs(self) -> str:
        depth = self.status.depth
        return f"{depth} job" if depth == 1 else f"{depth} jobs"

    def _backlog(self, backlog: float) -> str:
        return f"{self._jobs()} would take {backlog:.1f} s at {self.rate:.3g} jobs/s per worker"


def _ceil(wanted: float) -> int:
    """A count wanted, whole; a rate too small to measure cannot ask for infinity."""
    return math.ceil(min(wanted, WANTED_CAP))


def _workers(count: int) -> str:
    return f"{count} worker" if count == 1 else f"{count} workers"


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )

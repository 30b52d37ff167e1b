"""The autoscaler: the scaler's decisions carried out, one step every few seconds.

:class:`Autoscaler` is the thin loop around the pure :class:`~.scaler.Scaler`.
Each step reads the queue's status and the worker count (both injected
callables), measures what one busy worker completes per second from the
status's count of finished jobs (:class:`~.rate.WorkerRate`, unless a ``rate``
callable is given), asks the core, applies a :class:`~.scaler.Scale` through the
injected ``scale`` callable, and logs the decision's sentence (structlog, one
line a step: ``info`` for a change, ``debug`` for a hold, ``warning`` when
something could not be read or applied). Time comes from the injected clock,
pauses from the injected ``sleep``.

What it guarantees, and what it does not:

- A status or a count that cannot be read makes the step a hold (the core is
  not asked, so its memory of quiet and cooldowns is not fed a guess); the
  next step tries again.
- A change the supervisor refuses (a replica still draining holds its number,
  say) is logged with the refusal and not retried before its cooldown: the
  core counts a change from the moment it decides it.
- The count is read again every step, so a change made by hand
  (``millionscale scale worker=3``) or a worker that failed is seen at once,
  and brought back within bounds.

:class:`SupervisorWorkers` binds ``scale`` and the count to a replicated
process (or its tier) through the supervisor's control endpoint: the
:class:`~millionscale.discovery.HttpDiscovery` client that ``millionscale
scale`` uses (``POST /v1/scale``, and the live snapshot for the count).
Where workers outgrow one machine, another ``scale`` (a Kubernetes
Deployment's replicas, say) stands in the same place.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from millionscale.discovery import LEAVING, Scaled, Snapshot
from millionscale.errors import ConfigError, MillionscaleError
from millionscale.queue.broker import QueueStatus
from millionscale.queue.rate import WorkerRate
from millionscale.queue.scaler import Hold, Scale, Scaler

__all__ = ["Autoscaler", "AutoscalerStatistics", "Control", "SupervisorWorkers"]

log = structlog.get_logger()

# Kubernetes HPA syncs every 15 s and KEDA polls every 30 s; a queue's status is
# one cheap request, and every 5 s sees a burst within half the scale-up cooldown.
INTERVAL_S = 5.0

Rate = Callable[[], Awaitable[float | None]]


@dataclass(frozen=True, slots=True)
class AutoscalerStatistics:
    """What the loop has done: steps taken, changes applied, and what failed."""

    steps: int
    scaled: int  # changes the ``scale`` callable carried out
    unread: int  # steps whose status or count could not be read
    refused: int  # changes the ``scale`` callable raised on
    workers: int | None  # the count last read or set; None before the first


class Autoscaler:
    """Steps ``core`` every ``interval_s``: ``status()`` and ``workers()`` read the queue and
    the count, ``scale(n)`` runs ``n`` workers and returns how many now run. ``rate()``
    is what one busy worker completes per second (None: not measured); without it the
    loop measures that from ``status().finished`` over ``meter``'s window (None while
    the broker does not count, or too little busy time has been seen)."""

    def __init__(
        self,
        status: Callable[[], Awaitable[QueueStatus]],
        scale: Callable[[int], Awaitable[int]],
        core: Scaler,
        clock: Callable[[], float] = time.monotonic,
        *,
        workers: Callable[[], Awaitable[int]],
        rate: Rate | None = None,
        meter: WorkerRate | None = None,
        interval_s: float = INTERVAL_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        name: str = "worker",
    ) -> None:
        if not interval_s > 0:
            raise ConfigError(
                f"an autoscaler steps every interval_s above 0, not {interval_s}",
                hint=f"the default is {INTERVAL_S} s",
            )
        self.core = core
        self.interval_s = interval_s
        self.name = name
        self._status = status
        self._scale = scale
        self._workers = workers
        self._rate = rate
        self.meter = meter or WorkerRate()
        self._clock = clock
        self._sleep = sleep
        self._steps = self._scaled = self._unread = self._refused = 0
        self._count: int | None = None

    @classmethod
    def through_supervisor(
        cls,
        control: Control,
        name: str,
        status: Callable[[], Awaitable[QueueStatus]],
        core: Scaler,
        clock: Callable[[], float] = time.monotonic,
        *,
        rate: Rate | None = None,
        interval_s: float = INTERVAL_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Autoscaler:
        """An autoscaler of the replicated process (or tier) ``name`` through the
        supervisor's control endpoint ``control`` (an HttpDiscovery)."""
        workers = SupervisorWorkers(control, name)
        return cls(
            status,
            workers.scale,
            core,
            clock,
            workers=workers.count,
            rate=rate,
            interval_s=interval_s,
            sleep=sleep,
            name=name,
        )

    def statistics(self) -> AutoscalerStatistics:
        return AutoscalerStatistics(
            self._steps, self._scaled, self._unread, self._refused, self._count
        )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Step, then pause ``interval_s``, until ``stop`` is set (None: until cancelled)."""
        while stop is None or not stop.is_set():
            await self.step()
            await self._sleep(self.interval_s)

    async def step(self) -> Scale | Hold:
        """One step: read, decide, apply, log; the decision."""
        self._steps += 1
        try:
            status = await self._status()
            workers = await self._workers()
            rate = await self._rate() if self._rate is not None else None
        except Exception as error:
            self._unread += 1
            hold = Hold(f"holding: the queue or its workers could not be read ({_say(error)})")
            log.warning(hold.reason, group=self.name)
            return hold
        self._count = workers
        now = self._clock()
        if self._rate is None and status.finished is not None:
            rate = self.meter.observe(now, status.finished, workers, busy=status.depth > 0)
        decision = self.core.step(now, status, workers, rate)
        if isinstance(decision, Hold):
            log.debug(decision.reason, group=self.name, workers=workers)
            return decision
        try:
            running = await self._scale(decision.to)
        except Exception as error:
            self._refused += 1
            log.warning(
                f"{decision.reason}; not applied: {_say(error)}",
                group=self.name,
                workers=workers,
                to=decision.to,
            )
            return decision
        self._scaled += 1
        self._count = running
        log.info(decision.reason, group=self.name, workers=workers, to=decision.to, running=running)
        return decision


class Control(Protocol):
    """What :class:`SupervisorWorkers` needs of the supervisor's control endpoint
    (:class:`~millionscale.discovery.HttpDiscovery` has it)."""

    async def snapshot(self) -> Snapshot: ...

    async def scale(self, name: str, replicas: int) -> Scaled: ...


class SupervisorWorkers:
    """The replicas of the replicated process (or the tier of one) ``name``, through the
    supervisor's control endpoint: :meth:`count` and :meth:`scale` for an
    :class:`Autoscaler`.

    The count is of the set's members in the live snapshot that are not leaving
    (starting ones count, stopping and failed ones do not), as the supervisor
    counts them when it scales. Until a scale has named the set, a tier's name
    counts the members of that tier named as replicas (``worker-3``).
    """

    def __init__(self, control: Control, name: str) -> None:
        self.control = control
        self.name = name
        self._set: str | None = None  # the replicated process, once the supervisor named it

    async def count(self) -> int:
        """How many replicas of the set run now (DiscoveryError if the endpoint is down)."""
        snapshot = await self.control.snapshot()
        live = [m for m in snapshot.members if m.health not in LEAVING]
        named = self._set or self.name
        mine = [m for m in live if _replica_of(named, m.name)]
        if mine or self._set is not None:
            return len(mine)
        return sum(1 for m in live if m.tier == self.name and _replica_of(None, m.name))

    async def scale(self, replicas: int) -> int:
        """Ask the supervisor to run ``replicas``; how many it now runs."""
        scaled = await self.control.scale(self.name, replicas)
        self._set = scaled.name
        return scaled.replicas


def _replica_of(name: str | None, member: str) -> bool:
    """Whether ``member`` is named as replica of ``name`` (of any set when None): ``worker-3``."""
    head, dash, number = member.rpartition("-")
    return (
        bool(dash)
        and re.fullmatch(r"[1-9][0-9]*", number) is not None
        and (name is None or head == name)
    )


def _say(error: BaseException) -> str:
    if isinstance(error, MillionscaleError):
        return error.one_line()
    return f"{type(error).__name__}: {error or 'no detail'}"

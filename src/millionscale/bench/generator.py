"""The open-loop runner: send on schedule, never wait for earlier answers.

A closed-loop tester sends its next request when the previous one comes back,
so a server that stalls also stalls the tester, and the requests that should
have been sent during the stall are never sent nor timed: the tail looks fine
while users suffered (coordinated omission). Here each request is started at
its intended time whatever is still in flight, and its latency runs from that
intended time. If the generator itself falls behind (a busy event loop), a
late request still counts from when it was *meant* to go, so generator lag
inflates latency rather than hiding it; :attr:`Summary.max_send_lag_ms` tells
the two apart.

Everything is bounded:

- scheduling stops at ``duration_s``; the number of requests is
  ``ceil(rate * duration_s)``;
- afterwards in-flight requests get at most ``drain_timeout_s`` to finish;
  those still running are cancelled and counted as ``timeout``;
- at most ``max_in_flight`` requests run at once; a request scheduled while
  the cap is reached is not sent and counts as ``overload``, so a dead server
  cannot make the generator hold an unbounded number of sockets and tasks.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

from millionscale.bench.outcome import Outcome
from millionscale.bench.recorder import Recorder
from millionscale.bench.schedule import Schedule
from millionscale.errors import ConfigError

__all__ = [
    "DRAIN_TIMEOUT_S",
    "MAX_IN_FLIGHT",
    "Clock",
    "ProgressCallback",
    "Send",
    "run_open_loop",
    "validate_bounds",
]

Send = Callable[[], Awaitable[Outcome]]
Clock = Callable[[], float]
ProgressCallback = Callable[[int, int], None]  # (requests scheduled so far, total)

DRAIN_TIMEOUT_S = 10.0  # as long as the HTTP transport's default per-request timeout
MAX_IN_FLIGHT = 10_000  # far above any pool; a dead server costs at most this many tasks
# Requests cancelled after the drain timeout get this long to unwind.
_CANCEL_GRACE_S = 1.0
# Progress is reported about this many times a second of schedule, not per request.
_PROGRESS_PER_S = 10


async def run_open_loop(
    rate: float,
    duration_s: float,
    send: Send,
    *,
    clock: Clock | None = None,
    progress: ProgressCallback | None = None,
    max_in_flight: int = MAX_IN_FLIGHT,
    drain_timeout_s: float = DRAIN_TIMEOUT_S,
    cpu_clock: Clock = time.process_time,
) -> Recorder:
    """Send ``rate`` requests a second for ``duration_s`` seconds; return what was recorded.

    ``send`` performs one request and returns its :class:`Outcome`; if it
    raises, the request counts as ``other``. ``clock`` defaults to the running
    loop's ``time()`` (so a loop with virtual time drives a run without real
    sleeping); another clock must advance in step with the loop's.
    ``progress`` is called now and then with (requests scheduled, total).
    ``cpu_clock`` is the CPU time of the generator's process, read at the start
    and the end of scheduling, so the summary says how busy the generator was.
    """
    validate_bounds(max_in_flight, drain_timeout_s)
    now = clock if clock is not None else asyncio.get_running_loop().time
    schedule = Schedule(rate=rate, duration_s=duration_s, start=now())
    recorder = Recorder(rate, duration_s, schedule.start)
    in_flight: dict[asyncio.Task[None], float] = {}
    cpu_start = cpu_clock()

    async def one(intended: float) -> None:
        try:
            outcome = await send()
        except asyncio.CancelledError:
            raise
        except Exception:
            outcome = Outcome.failed("other")
        # A request given up on by the drain was already counted as a timeout.
        if asyncio.current_task() in in_flight:
            recorder.record(intended, now(), outcome)

    every = max(1, round(rate / _PROGRESS_PER_S))
    total = schedule.count
    try:
        for i, intended in enumerate(schedule):
            # Sleep until the intended time; when behind, still yield once so that
            # answers are processed and a late generator cannot starve its tasks.
            await asyncio.sleep(max(0.0, intended - now()))
            recorder.note_send_lag(max(0.0, now() - intended))
            if len(in_flight) >= max_in_flight:
                recorder.record_error(intended, "overload")
            else:
                task = asyncio.create_task(one(intended))
                in_flight[task] = intended
                task.add_done_callback(lambda done: in_flight.pop(done, None))
                recorder.note_in_flight(len(in_flight))
            if progress is not None and (i % every == 0 or i == total - 1):
                progress(i + 1, total)
        recorder.note_generator_cpu(cpu_clock() - cpu_start, now() - schedule.start)
        await _drain(in_flight, recorder, drain_timeout_s)
    except BaseException:  # the run itself was cancelled: leave no request behind
        for task in list(in_flight):
            task.cancel()
        raise
    return recorder


def validate_bounds(max_in_flight: int, drain_timeout_s: float) -> None:
    """Raise :class:`ConfigError` unless the cap is at least 1 and the drain timeout finite, >= 0."""
    if max_in_flight < 1:
        raise ConfigError(
            f"the in-flight cap must be at least 1, not {max_in_flight}",
            hint="pass a positive cap",
        )
    if not (math.isfinite(drain_timeout_s) and drain_timeout_s >= 0):
        raise ConfigError(
            f"the drain timeout must be zero or more seconds, not {drain_timeout_s!r}",
            hint="pass a finite, non-negative timeout",
        )


async def _drain(
    in_flight: dict[asyncio.Task[None], float], recorder: Recorder, timeout_s: float
) -> None:
    """Wait for in-flight requests at most ``timeout_s``; count the rest as ``timeout``."""
    if not in_flight:
        return
    _, pending = await asyncio.wait(set(in_flight), timeout=timeout_s)
    if not pending:
        return
    unfinished = {task: in_flight.pop(task) for task in pending}
    for task, intended in unfinished.items():
        recorder.record_error(intended, "timeout")
        task.cancel()
    # A send that swallows cancellation cannot hold the run: it gets a grace period.
    await asyncio.wait(unfinished, timeout=_CANCEL_GRACE_S)

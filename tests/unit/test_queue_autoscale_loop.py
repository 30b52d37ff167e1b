"""The autoscaler's loop: it reads, asks the core, applies a Scale through ``scale``, logs the
sentence; a failed read holds, a refused change is logged and waits for its cooldown."""

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from queue_scaler_factories import BEHIND, QUIET, STEADY
from structlog.testing import capture_logs

from millionscale.errors import ConfigError, MembershipError
from millionscale.queue import (
    Autoscaler,
    AutoscalerStatistics,
    Hold,
    QueueStatus,
    Scale,
    Scaler,
    ScalerSettings,
)
from millionscale.testing import FakeClock


def run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def sync(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return sync


class Fleet:
    """Workers that the loop counts and scales; ``refuse`` makes ``scale`` raise it."""

    def __init__(self, count: int) -> None:
        self.running = count
        self.asked: list[int] = []
        self.refuse: Exception | None = None

    async def count(self) -> int:
        return self.running

    async def scale(self, replicas: int) -> int:
        self.asked.append(replicas)
        if self.refuse is not None:
            raise self.refuse
        self.running = replicas
        return replicas


class Queue:
    """A queue whose status the test sets; ``down`` makes reading it raise."""

    def __init__(self, status: QueueStatus) -> None:
        self.now = status
        self.down = False

    async def status(self) -> QueueStatus:
        if self.down:
            raise ConnectionError("the broker does not answer")
        return self.now


def autoscaler(
    status: QueueStatus, workers: int, **knobs: Any
) -> tuple[Autoscaler, Queue, Fleet, FakeClock]:
    queue, fleet, clock = Queue(status), Fleet(workers), FakeClock()
    loop = Autoscaler(
        queue.status, fleet.scale, Scaler(ScalerSettings(**knobs)), clock, workers=fleet.count
    )
    return loop, queue, fleet, clock


@run
async def test_a_scale_is_applied_and_its_sentence_logged():
    loop, _queue, fleet, _clock = autoscaler(BEHIND, workers=2)

    with capture_logs() as logs:
        decision = await loop.step()

    assert decision == Scale(
        6,
        "2 → 6 workers: the oldest job waited 30.0 s, over the 5 s target "
        "(12 wanted, at most double or +4 per step)",
    )
    assert fleet.asked == [6]
    assert logs == [
        {
            "event": decision.reason,
            "log_level": "info",
            "group": "worker",
            "workers": 2,
            "to": 6,
            "running": 6,
        }
    ]


@run
async def test_a_hold_changes_nothing_and_is_logged_quietly():
    loop, _queue, fleet, _clock = autoscaler(STEADY, workers=3)

    with capture_logs() as logs:
        decision = await loop.step()

    assert decision == Hold("holding 3 workers: the oldest job waited 4.0 s, within the 5 s target")
    assert fleet.asked == []
    assert [(e["event"], e["log_level"]) for e in logs] == [(decision.reason, "debug")]


@run
async def test_a_status_that_cannot_be_read_holds_and_the_core_is_not_asked():
    loop, queue, fleet, _clock = autoscaler(BEHIND, workers=2)
    queue.down = True

    with capture_logs() as logs:
        decision = await loop.step()

    assert decision == Hold(
        "holding: the queue or its workers could not be read "
        "(ConnectionError: the broker does not answer)"
    )
    assert fleet.asked == []
    assert loop.core.statistics().steps == 0
    assert [e["log_level"] for e in logs] == ["warning"]
    assert loop.statistics().unread == 1


@run
async def test_a_refused_change_is_logged_and_not_asked_again_before_its_cooldown():
    loop, _queue, fleet, clock = autoscaler(BEHIND, workers=2, up_cooldown_s=10.0)
    fleet.refuse = MembershipError("worker: no free number for 4 more replicas", hint="wait")

    with capture_logs() as logs:
        await loop.step()
        clock.jump(5.0)
        early = await loop.step()
        clock.jump(5.0)
        fleet.refuse = None
        again = await loop.step()

    assert fleet.asked == [6, 6]
    assert logs[0]["log_level"] == "warning"
    assert logs[0]["event"].endswith(
        "; not applied: worker: no free number for 4 more replicas (wait)"
    )
    assert isinstance(early, Hold)
    assert "within the 10 s scale-up cooldown" in early.reason
    assert again == Scale(6, again.reason)
    assert (loop.statistics().refused, loop.statistics().scaled) == (1, 1)


@run
async def test_a_count_changed_by_hand_is_read_again_every_step():
    loop, _queue, fleet, clock = autoscaler(QUIET, workers=2, max_workers=4)
    await loop.step()
    fleet.running = 9  # `millionscale scale worker=9`
    clock.jump(1.0)

    decision = await loop.step()

    assert decision == Scale(4, "9 → 4 workers: over the maximum of 4")
    assert fleet.running == 4


@run
async def test_run_steps_every_interval_until_stopped():
    loop, queue, fleet, clock = autoscaler(BEHIND, workers=1, max_workers=8)
    stop = asyncio.Event()
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock.jump(seconds)
        if len(pauses) == 3:
            queue.now = QUIET
        if len(pauses) == 6:
            stop.set()

    loop = Autoscaler(queue.status, fleet.scale, loop.core, clock, workers=fleet.count, sleep=sleep)
    async with asyncio.timeout(5):
        await loop.run(stop)

    assert pauses == [5.0] * 6
    assert fleet.asked == [5, 8]  # at 0 s, then 10 s later (the up cooldown)
    assert loop.statistics() == AutoscalerStatistics(
        steps=6, scaled=2, unread=0, refused=0, workers=8
    )


def test_a_nonsense_interval_is_refused():
    fleet = Fleet(1)
    with pytest.raises(ConfigError, match="interval_s above 0"):
        Autoscaler(Queue(QUIET).status, fleet.scale, Scaler(), workers=fleet.count, interval_s=0)

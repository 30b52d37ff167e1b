"""The autoscaler measures the per-worker rate from the broker's count of finished jobs, and
the scaler sizes a step up with it: ceil(depth / (rate x target_backlog_s))."""

import asyncio
import dataclasses

from queue_scaler_factories import status

from millionscale.queue import Autoscaler, Hold, QueueStatus, Scale, Scaler, ScalerSettings
from millionscale.testing import FakeClock


class Fleet:
    def __init__(self, count: int) -> None:
        self.running = count

    async def count(self) -> int:
        return self.running

    async def scale(self, replicas: int) -> int:
        self.running = replicas
        return replicas


class Queue:
    def __init__(self, now: QueueStatus) -> None:
        self.now = now

    async def status(self) -> QueueStatus:
        return self.now


def counted(finished: int, **shape) -> QueueStatus:
    return dataclasses.replace(status(**shape), finished=finished)


def loop_of(queue: Queue, fleet: Fleet, clock: FakeClock, **options) -> Autoscaler:
    core = Scaler(ScalerSettings(max_workers=20))
    return Autoscaler(queue.status, fleet.scale, core, clock, workers=fleet.count, **options)


def test_a_step_up_is_sized_by_the_depth_over_the_measured_rate():
    queue, fleet, clock = Queue(counted(0, ready=1200, age=4.0)), Fleet(2), FakeClock()
    loop = loop_of(queue, fleet, clock)

    async def scenario():
        first = await loop.step()  # nothing measured yet: the age alone, within its target
        clock.jump(5.0)
        queue.now = counted(100, ready=1200, age=4.0)  # 2 workers, 5 s, 100 jobs: 10/s each
        second = await loop.step()
        return first, second

    first, second = asyncio.run(scenario())

    assert first == Hold("holding 2 workers: the oldest job waited 4.0 s, within the 5 s target")
    assert second == Scale(
        6,
        "2 → 6 workers: 1200 jobs would take 60.0 s at 10 jobs/s per worker, over the 10 s "
        "target (12 wanted, at most double or +4 per step)",
    )
    assert loop.meter.rate() == 10.0


def test_a_rate_given_is_used_instead_of_the_measured_one():
    queue, fleet, clock = Queue(counted(0, ready=1200, age=4.0)), Fleet(2), FakeClock()

    async def sixty() -> float:
        return 60.0

    loop = loop_of(queue, fleet, clock, rate=sixty)

    decision = asyncio.run(loop.step())

    assert decision == Hold(  # measured, the rate would be unknown yet: the given one decides
        "holding 2 workers: the oldest job waited 4.0 s, within the 5 s target; "
        "1200 jobs would take 10.0 s at 60 jobs/s per worker, within the 10 s target"
    )


def test_a_broker_that_does_not_count_leaves_the_age_alone():
    queue, fleet, clock = Queue(status(ready=1200, age=4.0)), Fleet(2), FakeClock()
    loop = loop_of(queue, fleet, clock)

    async def scenario():
        await loop.step()
        clock.jump(5.0)
        return await loop.step()

    decision = asyncio.run(scenario())

    assert decision == Hold("holding 2 workers: the oldest job waited 4.0 s, within the 5 s target")
    assert loop.meter.rate() is None

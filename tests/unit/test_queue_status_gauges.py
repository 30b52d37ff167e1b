"""The queue's status gauges are exported per queue by the process that reads the status
(the autoscaler, or one worker with --status-gauges): none before a reading, each reading
as the broker said it, a failed read leaves the last one."""

import asyncio

import pytest
from prometheus_client import REGISTRY

from millionscale.errors import QueueError
from millionscale.queue import QueueStatus
from millionscale.queue.metrics import observing


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def reading(*, ready: int, age: float) -> QueueStatus:
    return QueueStatus(
        ready=ready, in_flight=2, delayed=3, dead_letters=4, oldest_age_s=age, redelivered=1
    )


def test_a_queue_never_read_exports_no_gauge():
    assert gauge("millionscale_queue_depth", queue="never_read", state="ready") is None
    assert gauge("millionscale_queue_oldest_age_seconds", queue="never_read") is None
    assert gauge("millionscale_queue_redelivered", queue="never_read") is None


def test_each_reading_sets_the_queues_gauges_and_is_returned_as_read():
    answers = iter([reading(ready=40, age=6.5), reading(ready=7, age=1.0)])

    async def status() -> QueueStatus:
        return next(answers)

    read = observing("gauged", status)

    first = asyncio.run(read())
    after_first = gauge("millionscale_queue_depth", queue="gauged", state="ready")
    asyncio.run(read())

    assert first == reading(ready=40, age=6.5)
    assert after_first == 40
    assert gauge("millionscale_queue_depth", queue="gauged", state="ready") == 7
    assert gauge("millionscale_queue_depth", queue="gauged", state="in_flight") == 2
    assert gauge("millionscale_queue_depth", queue="gauged", state="delayed") == 3
    assert gauge("millionscale_queue_depth", queue="gauged", state="dead") == 4
    assert gauge("millionscale_queue_oldest_age_seconds", queue="gauged") == 1.0
    assert gauge("millionscale_queue_redelivered", queue="gauged") == 1


def test_a_failed_read_raises_and_leaves_the_last_reading():
    answers: list[QueueStatus | QueueError] = [
        reading(ready=12, age=3.0),
        QueueError("cannot read the queue's state"),
    ]

    async def status() -> QueueStatus:
        answer = answers.pop(0)
        if isinstance(answer, QueueError):
            raise answer
        return answer

    read = observing("flaky", status)
    asyncio.run(read())

    with pytest.raises(QueueError):
        asyncio.run(read())
    assert gauge("millionscale_queue_depth", queue="flaky", state="ready") == 12
    assert gauge("millionscale_queue_oldest_age_seconds", queue="flaky") == 3.0

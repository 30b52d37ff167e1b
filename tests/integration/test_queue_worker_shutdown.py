"""A worker shuts down gracefully: running jobs finish within the deadline, those
that cannot are handed back at once; a long job's heartbeats keep it from being
delivered to a second worker."""

import asyncio

import pytest
from queue_support import broker_at, eventually, running

from millionscale.queue import Job, RetryPolicy
from millionscale.queue.worker import Worker

pytestmark = pytest.mark.integration


def test_a_job_longer_than_the_ack_deadline_is_not_delivered_twice(nats):
    runs = []

    async def slow(job):
        runs.append(job.id)
        await asyncio.sleep(2.5)  # the ack deadline is 1 s

    async def scenario():
        async with (
            broker_at(nats.url, ack_wait_s=1.0) as broker,
            broker_at(nats.url, ack_wait_s=1.0) as other,
        ):
            await broker.publish(Job("slow", id="long"))
            async with (
                running(broker, {"slow": slow}) as one,
                running(other, {"slow": slow}) as two,
            ):
                done = lambda: _true(one.statistics().done + two.statistics().done == 1)  # noqa: E731
                await eventually(done, "the long job done", 10)
                await asyncio.sleep(1.5)  # past another ack deadline: nothing comes back
            return await broker.status()

    status = asyncio.run(scenario())

    assert runs == ["long"]
    assert (status.ready, status.in_flight, status.redelivered) == (0, 0, 0)


def test_shutdown_lets_running_jobs_finish_and_hands_back_those_that_cannot(nats):
    finished = []

    async def quick(job):
        await asyncio.sleep(0.2)
        finished.append(job.id)

    async def stuck(job):
        await asyncio.sleep(60)

    async def scenario():
        async with broker_at(nats.url) as broker:
            await broker.publish(Job("quick", id="q"))
            await broker.publish(Job("stuck", id="s"))
            worker = Worker(
                broker, {"quick": quick, "stuck": stuck}, shutdown_s=1.0, policy=RetryPolicy()
            )
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            await eventually(lambda: _true(worker.statistics().running == 2), "both jobs running")
            stop.set()
            await asyncio.wait_for(task, 10)
            stats = worker.statistics()
            (again,) = await broker.fetch(1, 2.0)  # at once, not after the 30 s deadline
            await again.ack()
            return stats, again

    stats, again = asyncio.run(scenario())

    assert finished == ["q"]
    assert (stats.done, stats.interrupted) == (1, 1)
    assert b'"id":"s"' in again.data
    assert again.count == 2


async def _true(value):
    return value

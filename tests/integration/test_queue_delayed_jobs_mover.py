"""Delayed jobs are moved to the ready subjects by a task of the consumer's broker, off its
fetch path: started by its first fetch, a due job becomes ready with no fetch waiting,
within SCHEDULE_EVERY_S of its due time; a broker that only publishes never moves them,
and a closed broker stops moving them."""

import asyncio
import time

import pytest
from queue_support import broker_at, eventually

from millionscale.queue import Job
from millionscale.queue.jetstream import SCHEDULE_EVERY_S

pytestmark = pytest.mark.integration

LOADED_MACHINE_S = 0.5  # past SCHEDULE_EVERY_S: a step's 10 ms read and a busy 2-core machine


def test_a_due_job_becomes_ready_with_no_fetch_waiting(nats):
    async def scenario():
        async with broker_at(nats.url) as worker:
            assert list(await worker.fetch(1, 0.05)) == []  # its first fetch starts the mover
            due = time.time() + 0.5
            await worker.publish(Job("noop", id="later", not_before=due))
            before = await worker.status()

            async def ready():
                return (await worker.status()).ready == 1

            await eventually(ready, "the delayed job ready", 5)
            return before, time.time() - due

    before, late_by = asyncio.run(scenario())

    assert (before.ready, before.delayed) == (0, 1)
    assert 0 <= late_by < SCHEDULE_EVERY_S + LOADED_MACHINE_S


def test_a_broker_that_only_publishes_or_is_closed_moves_no_delayed_job(nats):
    async def scenario():
        async with broker_at(nats.url) as worker:
            await worker.fetch(1, 0.05)  # moving, until closed
        async with broker_at(nats.url) as producer:
            await producer.publish(Job("noop", id="later", not_before=time.time() + 0.1))
            await asyncio.sleep(0.1 + SCHEDULE_EVERY_S * 4)
            return await producer.status()

    status = asyncio.run(scenario())

    assert (status.ready, status.delayed) == (0, 1)

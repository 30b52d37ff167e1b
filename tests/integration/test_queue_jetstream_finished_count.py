"""The JetStream broker's status counts the jobs the queue is done with (the scaler's rate):
acked ones, never those still waiting or in flight, and a job stored once counts once."""

import asyncio

import pytest
from queue_support import broker_at, eventually

from millionscale.queue import Job

pytestmark = pytest.mark.integration


def test_finished_counts_acked_jobs_only(nats):
    async def scenario():
        async with broker_at(nats.url) as broker:
            for n in range(5):
                await broker.publish(Job("noop", id=f"job-{n}"))
            await broker.publish(Job("noop", id="job-0"))  # stored once: counted once
            before = await broker.status()
            deliveries = await broker.fetch(3, timeout_s=2.0)
            for delivery in deliveries[:2]:
                await delivery.ack()
            # the third stays in flight; a nack puts it back to be delivered again
            await deliveries[2].nack()

            async def two_finished():
                return (await broker.status()).finished == 2  # acks are not confirmed: soon

            await eventually(two_finished, "the two acks counted", 5.0)
            await asyncio.sleep(0.2)  # and nothing more comes
            return before, len(deliveries), await broker.status()

    before, fetched, after = asyncio.run(scenario())

    assert fetched == 3
    assert (before.finished, before.depth) == (0, 5)
    assert after.finished == 2  # not the one nacked, nor the two never delivered

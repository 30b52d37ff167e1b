"""The JetStream broker keeps the Broker contract: confirmed publishes stored once
per id, delayed jobs held back, dead letters kept with their reason and retried."""

import asyncio
import time

import pytest
from queue_support import broker_at, eventually

from millionscale.errors import QueueError
from millionscale.queue import Job
from millionscale.queue.jetstream import JetStreamBroker

pytestmark = pytest.mark.integration


def test_a_job_published_twice_with_one_id_is_stored_once(nats):
    async def scenario():
        async with broker_at(nats.url) as broker:
            first = await broker.publish(Job("noop", id="same"))
            second = await broker.publish(Job("noop", id="same"))
            return first, second, await broker.status()

    first, second, status = asyncio.run(scenario())

    assert (first.duplicate, second.duplicate) == (False, True)
    assert first.sequence == second.sequence
    assert status.ready == 1


def test_a_delayed_job_is_not_delivered_before_it_is_due(nats):
    async def scenario():
        async with broker_at(nats.url) as broker:
            due = time.time() + 1.0
            await broker.publish(Job("noop", id="later", not_before=due))
            early = await broker.fetch(10, 0.3)
            delayed = (await broker.status()).delayed
            got = []

            async def delivered():
                got.extend(await broker.fetch(10, 0.2))
                return bool(got)

            await eventually(delivered, "the delayed job delivered")
            await got[0].ack()
            return early, delayed, time.time() - due

    early, delayed, late_by = asyncio.run(scenario())

    assert list(early) == []
    assert delayed == 1
    assert 0 <= late_by < 1.0


def test_a_dead_letter_keeps_its_reason_and_error_and_retry_puts_it_back(nats):
    async def scenario():
        async with broker_at(nats.url) as broker:
            await broker.publish(Job("noop", {"n": 1}, id="doomed"))
            (delivery,) = await broker.fetch(1, 1.0)
            await delivery.dead_letter("gave up after 3", "ValueError: no\nsecond line")
            (entry,) = await broker.dead_letters()
            job = await broker.retry(entry.id)
            after = await broker.status()
            (again,) = await broker.fetch(1, 1.0)
            await again.ack()
            return entry, job, after, again

    entry, job, after, again = asyncio.run(scenario())

    assert entry.job is not None
    assert entry.job.id == "doomed"
    assert entry.reason == "gave up after 3"
    assert entry.error == "ValueError: no second line"  # one line in a header
    assert entry.deliveries == 1
    assert job.id == "doomed"
    assert job.args == {"n": 1}
    assert (after.dead_letters, after.ready) == (0, 1)
    assert again.count == 1  # a new message: its deliveries count from 1 again


def test_retrying_a_dead_letter_that_does_not_exist_says_so(nats):
    async def scenario():
        async with broker_at(nats.url) as broker:
            await broker.retry(42)

    with pytest.raises(QueueError, match="there is no dead letter 42"):
        asyncio.run(scenario())


def test_a_broker_that_is_not_there_is_a_queue_error_naming_the_address_not_the_token():
    async def scenario():
        await JetStreamBroker.connect("nats://sekrit@127.0.0.1:9")

    with pytest.raises(QueueError) as caught:
        asyncio.run(scenario())

    assert "127.0.0.1:9" in str(caught.value)
    assert "sekrit" not in str(caught.value)


def test_a_publish_while_the_broker_is_down_is_an_error_not_a_silent_loss(nats):
    async def scenario():
        async with broker_at(nats.url) as broker:
            nats.kill()
            try:
                with pytest.raises(QueueError, match="did not confirm"):
                    await broker.publish(Job("noop", id="lost?"))
            finally:
                nats.restart()
            await eventually(lambda: _published(broker, "after"), "a publish after the restart")
            return await broker.status()

    status = asyncio.run(scenario())

    assert status.ready == 1  # the refused job was never stored; the later one was


async def _published(broker, job_id):
    try:
        await broker.publish(Job("noop", id=job_id))
    except QueueError:
        return False
    return True

"""Several relays on one outbox share it: no row is published by two of them."""

import asyncio

import pytest
from queue_support import connect, eventually, received, relaying, scalar, with_schemas

from millionscale.queue import Job, OutboxRelay, enqueue_in
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration

JOBS = 300  # three batches of 100 per relay at most: enough for the relays to overlap


def test_three_relays_publish_every_row_once_between_them(database_url: str, nats: RunningServer):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn, conn.transaction():
            for n in range(JOBS):
                await enqueue_in(conn, Job("thumbnail", {"photo": n}, id=f"j-{n}"))
        brokers = [await JetStreamBroker.connect(nats.url) for _ in range(3)]
        relays = [
            OutboxRelay(database_url, broker, batch=20, poll_interval_s=0.1, name=f"relay-{n}")
            for n, broker in enumerate(brokers)
        ]
        try:
            async with relaying(relays[0]), relaying(relays[1]), relaying(relays[2]):
                await eventually(
                    lambda: scalar(database_url, "SELECT count(*) = 0 FROM queue_outbox"),
                    "the outbox emptied",
                )
                jobs = await received(brokers[0], JOBS)
            return [relay.statistics().published for relay in relays], jobs
        finally:
            for broker in brokers:
                await broker.close()

    published, jobs = asyncio.run(scenario())

    assert sum(published) == JOBS  # a row published twice would count twice
    assert sorted(job.id for job in jobs) == sorted(f"j-{n}" for n in range(JOBS))


def test_a_relay_skips_rows_another_relay_holds_and_takes_them_once_released(
    database_url: str, nats: RunningServer
):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn, conn.transaction():
            for n in range(3):
                await enqueue_in(conn, Job("thumbnail", id=f"j-{n}"))
        broker = await JetStreamBroker.connect(nats.url)
        try:
            async with (
                OutboxRelay(database_url, broker) as relay,
                await connect(database_url) as other,
            ):
                await other.execute("BEGIN")  # another relay, mid-step on the oldest row
                await other.execute(
                    "SELECT id FROM queue_outbox ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
                )
                while_held = await relay.step()
                first = await received(broker, 2)
                await other.execute("ROLLBACK")  # it died before publishing
                released = await relay.step()
                second = await received(broker, 1)
        finally:
            await broker.close()
        return while_held, [job.id for job in first], released, [job.id for job in second]

    while_held, first, released, second = asyncio.run(scenario())

    assert while_held.sentence == "published 2 job(s)"
    assert sorted(first) == ["j-1", "j-2"]
    assert released.sentence == "published 1 job(s)"
    assert second == ["j-0"]

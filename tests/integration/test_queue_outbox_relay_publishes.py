"""A relay sends what committed, never what rolled back, and a republish is stored once."""

import asyncio

import pytest
from queue_support import (
    connect,
    eventually,
    listening,
    received,
    relaying,
    scalar,
    with_schemas,
)

from millionscale.queue import Job, OutboxRelay, enqueue_in
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


async def write_photo(conn, photo_id: int, job: Job, *, commit: bool) -> None:
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO photos (id) VALUES (%s)", (photo_id,))
    await enqueue_in(conn, job)
    await conn.execute("COMMIT" if commit else "ROLLBACK")


def test_a_committed_write_is_published_and_a_rolled_back_one_never(
    database_url: str, nats: RunningServer
):
    async def scenario():
        await with_schemas(database_url)
        broker = await JetStreamBroker.connect(nats.url)
        try:
            relay = OutboxRelay(database_url, broker, poll_interval_s=0.2)
            async with relaying(relay), await connect(database_url) as conn:
                await write_photo(conn, 1, Job("thumbnail", {"photo": 1}, id="kept"), commit=True)
                await write_photo(conn, 2, Job("thumbnail", {"photo": 2}, id="gone"), commit=False)
                await write_photo(conn, 3, Job("thumbnail", {"photo": 3}, id="also"), commit=True)
                jobs = await received(broker, 2)
                pending = await scalar(database_url, "SELECT count(*) FROM queue_outbox")
            return jobs, pending, relay.statistics()
        finally:
            await broker.close()

    jobs, pending, statistics = asyncio.run(scenario())

    assert sorted(job.id for job in jobs) == ["also", "kept"]
    assert {job.id: dict(job.args) for job in jobs}["kept"] == {"photo": 1}
    assert pending == 0
    assert (statistics.published, statistics.publish_failures) == (2, 0)


def test_a_notification_wakes_the_relay_long_before_its_poll(
    database_url: str, nats: RunningServer
):
    async def scenario():
        await with_schemas(database_url)
        broker = await JetStreamBroker.connect(nats.url)
        try:
            relay = OutboxRelay(database_url, broker, poll_interval_s=60.0)
            async with relaying(relay), await connect(database_url) as conn:
                await eventually(lambda: listening(database_url), "the relay listening")
                await write_photo(conn, 1, Job("thumbnail", id="j-1"), commit=True)
                return await received(broker, 1, timeout_s=5.0)
        finally:
            await broker.close()

    jobs = asyncio.run(scenario())

    assert [job.id for job in jobs] == ["j-1"]


def test_a_row_left_after_its_publish_is_published_again_and_stored_once(
    database_url: str, nats: RunningServer
):
    async def scenario():
        await with_schemas(database_url)
        broker = await JetStreamBroker.connect(nats.url)
        try:
            job = Job("thumbnail", id="j-1", enqueued_at=1_700_000_000.0)
            async with await connect(database_url) as conn, conn.transaction():
                await enqueue_in(conn, job)
            first = await broker.publish(job)  # a relay that died before its DELETE committed
            async with OutboxRelay(database_url, broker) as relay:
                step = await relay.step()
            return first, step, await received(broker, 1)
        finally:
            await broker.close()

    first, step, jobs = asyncio.run(scenario())

    assert not first.duplicate
    assert step.sentence == "published 1 job(s)"
    assert [job.id for job in jobs] == ["j-1"]

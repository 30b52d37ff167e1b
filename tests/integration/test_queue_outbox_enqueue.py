"""enqueue_in: the job's row and its notification exist if and only if the caller commits."""

import asyncio

import pytest
from queue_support import connect, scalar, with_schemas

from millionscale.errors import QueueError
from millionscale.queue import Job, MalformedJob, decode, enqueue_in
from millionscale.queue.outbox import CHANNEL

pytestmark = pytest.mark.integration

NOTIFY_WAIT_S = 1.0  # a notification on loopback arrives in well under a millisecond


async def notifications(listener, at_most: int) -> int:
    got = 0
    async for _ in listener.notifies(timeout=NOTIFY_WAIT_S, stop_after=at_most):
        got += 1
    return got


def test_a_committed_write_leaves_its_job_in_the_outbox_and_notifies(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        job = Job("thumbnail", {"photo": 1}, id="j-1", enqueued_at=1_700_000_000.0)
        async with await connect(database_url) as listener, await connect(database_url) as conn:
            await listener.execute(f"LISTEN {CHANNEL}")
            async with conn.transaction():
                await conn.execute("INSERT INTO photos (id) VALUES (1)")
                await enqueue_in(conn, job)
            got = await notifications(listener, at_most=1)
            row = await (await conn.execute("SELECT job_id, body FROM queue_outbox")).fetchone()
        return job, got, row

    job, got, (job_id, body) = asyncio.run(scenario())

    assert got == 1
    assert job_id == "j-1"
    assert decode(body) == job


def test_a_job_without_an_enqueue_time_is_stamped_at_the_write(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn:
            async with conn.transaction():
                await enqueue_in(conn, Job("thumbnail", id="j-1"), clock=lambda: 1234.5)
            return await (await conn.execute("SELECT body FROM queue_outbox")).fetchone()

    (body,) = asyncio.run(scenario())

    assert decode(body).enqueued_at == 1234.5


def test_a_rolled_back_write_leaves_no_job_and_no_notification(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as listener, await connect(database_url) as conn:
            await listener.execute(f"LISTEN {CHANNEL}")
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO photos (id) VALUES (1)")
            await enqueue_in(conn, Job("thumbnail", id="rolled-back"))
            await conn.execute("ROLLBACK")
            async with conn.transaction():
                await enqueue_in(conn, Job("thumbnail", id="committed"))
            got = await notifications(listener, at_most=2)
        rows = await scalar(database_url, "SELECT string_agg(job_id, ',') FROM queue_outbox")
        return got, rows

    assert asyncio.run(scenario()) == (1, "committed")


def test_many_jobs_of_one_transaction_wake_the_relays_once(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as listener, await connect(database_url) as conn:
            await listener.execute(f"LISTEN {CHANNEL}")
            async with conn.transaction():
                for n in range(5):
                    await enqueue_in(conn, Job("thumbnail", id=f"j-{n}"))
            got = await notifications(listener, at_most=2)
        return got, await scalar(database_url, "SELECT count(*) FROM queue_outbox")

    assert asyncio.run(scenario()) == (1, 5)


def test_a_job_too_big_to_send_is_refused_before_anything_is_written(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn:
            with pytest.raises(MalformedJob, match="bytes, over the"):
                async with conn.transaction():
                    await enqueue_in(conn, Job("thumbnail", {"blob": "x" * 70_000}))
        return await scalar(database_url, "SELECT count(*) FROM queue_outbox")

    assert asyncio.run(scenario()) == 0


def test_an_enqueue_outside_a_transaction_on_autocommit_is_refused(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn:
            with pytest.raises(QueueError, match=r"enqueue_in\(\) needs the caller's transaction"):
                await enqueue_in(conn, Job("thumbnail"))
        return await scalar(database_url, "SELECT count(*) FROM queue_outbox")

    assert asyncio.run(scenario()) == 0

"""Two deliveries of one job at once: the second claim waits for the first's
transaction, and the effect happens exactly once whichever way it ends."""

import asyncio

import pytest
from queue_support import blocked_on_a_lock, connect, scalar, with_schemas

from millionscale.queue import Job, claim

pytestmark = pytest.mark.integration


async def deliver(conn, job: Job) -> bool:
    """A worker's transaction: claim, and do the effect only on a first claim."""
    async with conn.transaction():
        first = await claim(conn, job)
        if first:
            await conn.execute("INSERT INTO effects (key) VALUES (%s)", (job.idempotency_key,))
    return first


def test_a_redelivery_during_the_first_waits_for_its_commit_then_skips(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        job = Job("thumbnail", {"photo": 1}, id="j-1")
        async with await connect(database_url) as one, await connect(database_url) as two:
            async with one.transaction():
                assert await claim(one, job)
                await one.execute("INSERT INTO effects (key) VALUES (%s)", (job.id,))
                second = asyncio.create_task(deliver(two, job))
                await blocked_on_a_lock(database_url, two.info.backend_pid)
                assert not second.done()
            return await second, await scalar(database_url, "SELECT count(*) FROM effects")

    second_claimed, effects = asyncio.run(scenario())

    assert second_claimed is False
    assert effects == 1


def test_a_redelivery_during_the_first_takes_over_when_the_first_rolls_back(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        job = Job("thumbnail", {"photo": 1}, id="j-1")
        async with await connect(database_url) as one, await connect(database_url) as two:
            await one.execute("BEGIN")
            assert await claim(one, job)
            await one.execute("INSERT INTO effects (key) VALUES (%s)", (job.id,))
            second = asyncio.create_task(deliver(two, job))
            await blocked_on_a_lock(database_url, two.info.backend_pid)
            await one.execute("ROLLBACK")  # the first worker failed mid-job
            return await second, await scalar(database_url, "SELECT count(*) FROM effects")

    second_claimed, effects = asyncio.run(scenario())

    assert second_claimed is True
    assert effects == 1


def test_many_concurrent_deliveries_of_one_job_claim_it_exactly_once(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        job = Job("thumbnail", {"photo": 1}, id="j-1")
        conns = [await connect(database_url) for _ in range(4)]
        try:
            claims = await asyncio.gather(*(deliver(conn, job) for conn in conns))
        finally:
            for conn in conns:
                await conn.close()
        return claims, await scalar(database_url, "SELECT count(*) FROM effects")

    claims, effects = asyncio.run(scenario())

    assert sorted(claims) == [False, False, False, True]
    assert effects == 1

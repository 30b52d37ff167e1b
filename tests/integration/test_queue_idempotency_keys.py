"""A key is recorded only with its transaction; jobs sharing a key are one effect;
retention drops old keys; a claim outside a transaction is refused."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from queue_support import connect, scalar, with_schemas

from millionscale.errors import QueueError
from millionscale.queue import Job, claim, forget_before

pytestmark = pytest.mark.integration


def test_a_claim_rolled_back_is_not_recorded_and_the_next_delivery_claims_it(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        job = Job("thumbnail", id="j-1")
        async with await connect(database_url) as conn:
            await conn.execute("BEGIN")
            first = await claim(conn, job)
            await conn.execute("ROLLBACK")
            async with conn.transaction():
                again = await claim(conn, job)
            async with conn.transaction():
                third = await claim(conn, job)
        return first, again, third

    assert asyncio.run(scenario()) == (True, True, False)


def test_two_jobs_with_one_key_are_one_effect(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn:
            async with conn.transaction():
                first = await claim(conn, Job("thumbnail", id="j-1", key="thumb:42"))
            async with conn.transaction():
                second = await claim(conn, Job("thumbnail", id="j-2", key="thumb:42"))
        rows = await scalar(database_url, "SELECT string_agg(job_id, ',') FROM queue_effects")
        return first, second, rows

    assert asyncio.run(scenario()) == (True, False, "j-1")


def test_a_claim_on_an_autocommit_connection_outside_a_transaction_is_refused(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn:
            with pytest.raises(QueueError, match="needs the caller's transaction"):
                await claim(conn, Job("thumbnail", id="j-1"))
        return await scalar(database_url, "SELECT count(*) FROM queue_effects")

    assert asyncio.run(scenario()) == 0


def test_a_claim_on_a_connection_that_is_not_autocommit_joins_its_transaction(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url, autocommit=False) as conn:
            claimed = await claim(conn, Job("thumbnail", id="j-1"))
            await conn.rollback()
        return claimed, await scalar(database_url, "SELECT count(*) FROM queue_effects")

    assert asyncio.run(scenario()) == (True, 0)


def test_forget_before_drops_only_keys_done_before_the_cutoff(database_url: str):
    async def scenario():
        await with_schemas(database_url)
        async with await connect(database_url) as conn:
            for job_id in ("old-1", "old-2", "new"):
                async with conn.transaction():
                    await claim(conn, Job("thumbnail", id=job_id))
            await conn.execute(
                "UPDATE queue_effects SET done_at = now() - interval '8 days' WHERE key LIKE 'old%'"
            )
            dropped = await forget_before(conn, datetime.now(UTC) - timedelta(days=7))
            async with conn.transaction():
                old_again = await claim(conn, Job("thumbnail", id="old-1"))
            async with conn.transaction():
                new_again = await claim(conn, Job("thumbnail", id="new"))
        return dropped, old_again, new_again

    dropped, old_again, new_again = asyncio.run(scenario())

    assert dropped == 2
    assert old_again is True  # forgotten: it would run again, hence the retention rule
    assert new_again is False

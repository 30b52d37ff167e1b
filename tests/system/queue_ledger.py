"""The tasks of the queue's fault tests, loaded by worker processes as
``--tasks queue_ledger:tasks=DSN`` (this directory on PYTHONPATH).

``record`` writes one ledger row per job, claimed with the job's idempotency
key in the same transaction; every run, first or repeated, also appends to
``runs`` outside that transaction, so a test can show that jobs did run
more than once while their effect happened once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

from psycopg_pool import AsyncConnectionPool

from millionscale.queue import Job, claim

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ledger (job_id text PRIMARY KEY, n int NOT NULL UNIQUE)",
    "CREATE TABLE IF NOT EXISTS runs (job_id text NOT NULL, worker text NOT NULL)",
)
WORK_S = 0.002  # each job holds its transaction this long: kills find jobs in flight


@contextlib.asynccontextmanager
async def tasks(dsn: str) -> AsyncIterator[dict]:
    worker = os.environ.get("LEDGER_WORKER", "worker")
    async with AsyncConnectionPool(dsn, min_size=2, max_size=16, open=False) as pool:

        async def record(job: Job) -> None:
            async with pool.connection() as conn:
                await conn.execute("INSERT INTO runs VALUES (%s, %s)", (job.id, worker))
                async with conn.transaction():
                    if await claim(conn, job):
                        await asyncio.sleep(WORK_S)
                        await conn.execute(
                            "INSERT INTO ledger VALUES (%s, %s)", (job.id, job.args["n"])
                        )

        yield {"record": record}

"""Every accepted job completes exactly once in effect, with a worker SIGKILLed in the
middle of jobs and the broker SIGKILLed and restarted, under load: 10,000 jobs.

A producer publishes jobs ``0..N-1`` with publisher confirms, retrying a job whose
confirm did not come (the same id is stored once); two worker processes run
them, each job's effect a ledger row claimed with its idempotency key in the
effect's transaction (``queue_ledger``). A third of the way in, one worker is
SIGKILLed (and started again); two thirds in, nats-server is SIGKILLed and
started again on its store. Then every accepted job must be in the ledger
exactly once, and no other.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from millionscale.errors import QueueError
from millionscale.queue import Job, create_effects_schema
from millionscale.queue.jetstream import JetStreamBroker
from millionscale.servers import start_server

pytestmark = pytest.mark.system

JOBS = int(os.environ.get("MILLIONSCALE_QUEUE_JOBS", "10000"))
WORKERS = 2
CONCURRENCY = 16
ACK_WAIT_S = 2.0  # short, so the killed worker's jobs come back within the test
DONE_WITHIN_S = 240.0  # every accepted job done by then, or the test fails
PUBLISH_WITHIN_S = 120.0  # the producer's hard bound
HERE = Path(__file__).parent


def start_worker(name: str, queue_url: str, dsn: str, logs: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "QUEUE_URL": queue_url,
        "LEDGER_WORKER": name,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    argv = [sys.executable, "-m", "millionscale.queue", "--tasks", f"queue_ledger:tasks={dsn}"]
    argv += ["--concurrency", str(CONCURRENCY), "--ack-wait-s", str(ACK_WAIT_S), "--name", name]
    with (logs / f"{name}.log").open("ab") as log:
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)


async def publish_range(broker: JetStreamBroker, numbers: range) -> tuple[set[str], int]:
    """Publish each job until accepted (bounded); the accepted ids and the refusals."""
    accepted: set[str] = set()
    refused = 0
    deadline = time.monotonic() + PUBLISH_WITHIN_S
    for n in numbers:
        job = Job("record", {"n": n}, id=f"job-{n}")
        while time.monotonic() < deadline:
            try:
                await broker.publish(job)
            except QueueError:
                refused += 1
                await asyncio.sleep(0.05)
                continue
            accepted.add(job.id)
            break
    return accepted, refused


async def done_at_least(dsn: str, count: int) -> None:
    """Return once the ledger holds ``count`` rows (bounded by DONE_WITHIN_S)."""
    deadline = time.monotonic() + DONE_WITHIN_S
    while time.monotonic() < deadline:
        if len((await asyncio.to_thread(ledger, dsn))[0]) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the ledger did not reach {count} rows within {DONE_WITHIN_S:g} s")


def ledger(dsn: str) -> tuple[list[str], int]:
    with psycopg.connect(dsn) as conn:
        ids = [row[0] for row in conn.execute("SELECT job_id FROM ledger")]
        row = conn.execute("SELECT count(*) FROM runs").fetchone()
    assert row is not None
    return ids, row[0]


def test_every_accepted_job_completes_exactly_once_through_a_worker_kill_and_a_broker_kill(
    tmp_path,
):
    with start_server("postgres") as db, start_server("nats") as nats:
        dsn = db.url
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE ledger (job_id text PRIMARY KEY, n int NOT NULL UNIQUE);"
                "CREATE TABLE runs (job_id text NOT NULL, worker text NOT NULL)"
            )

        async def effects_schema() -> None:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await create_effects_schema(conn)

        asyncio.run(effects_schema())
        workers = {f"w{i}": start_worker(f"w{i}", nats.url, dsn, tmp_path) for i in range(WORKERS)}
        try:

            async def produce() -> tuple[set[str], int]:
                third = JOBS // 3
                broker = await JetStreamBroker.connect(nats.url)
                try:
                    # A backlog, then a worker SIGKILLed while it runs jobs of it.
                    accepted, refused = await publish_range(broker, range(third))
                    await done_at_least(dsn, third // 4)
                    workers["w0"].kill()
                    workers["w0"].wait()
                    workers["w0"] = start_worker("w0", nats.url, dsn, tmp_path)
                    more, refused_more = await publish_range(broker, range(third, 2 * third))
                    # The broker SIGKILLed and restarted while jobs are published and run.
                    publishing = asyncio.create_task(publish_range(broker, range(2 * third, JOBS)))
                    await done_at_least(dsn, third + third // 2)
                    nats.kill()
                    # On this thread: a server started from a worker thread dies with it
                    # (the engines' parent-death signal), and asyncio.run ends those.
                    nats.restart()
                    rest, refused_rest = await publishing
                    return accepted | more | rest, refused + refused_more + refused_rest
                finally:
                    await broker.close()

            accepted, refused = asyncio.run(produce())
            deadline = time.monotonic() + DONE_WITHIN_S
            ids, runs = ledger(dsn)
            while len(ids) < len(accepted) and time.monotonic() < deadline:
                time.sleep(0.5)
                ids, runs = ledger(dsn)
        finally:
            for process in workers.values():
                process.terminate()
            for process in workers.values():
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

        assert len(accepted) == JOBS, f"{refused} publishes refused"  # all accepted in the end
        assert len(ids) == len(accepted), (
            f"{len(ids)} of {len(accepted)} in the ledger; logs in {tmp_path}"
        )
        assert len(ids) == len(set(ids))  # the primary key says so; the count is what matters
        assert set(ids) == accepted  # none lost, none invented
        assert runs > len(ids)  # jobs did run twice; their effect did not

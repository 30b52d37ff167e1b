"""Shared by the queue's integration tests: a broker on a fresh NATS, a worker or a relay
running for the length of a block, schemas, connections, waits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping

import psycopg

from millionscale.queue import (
    RetryPolicy,
    Worker,
    create_effects_schema,
    create_outbox_schema,
    decode,
)
from millionscale.queue.jetstream import JetStreamBroker

LOCK_WAIT_S = 5.0  # far past the milliseconds a blocked INSERT takes to show in pg_stat_activity


async def connect(url: str, *, autocommit: bool = True) -> psycopg.AsyncConnection:
    return await psycopg.AsyncConnection.connect(url, autocommit=autocommit)


async def with_schemas(url: str) -> None:
    """The effects table, the outbox and its rejects, plus ``photos(id, thumbnail)`` and
    ``effects(key)`` standing for an app's write and a job's effect."""
    async with await connect(url) as conn:
        await create_effects_schema(conn)
        await create_outbox_schema(conn)
        await conn.execute("CREATE TABLE photos (id int PRIMARY KEY, thumbnail text)")
        await conn.execute("CREATE TABLE effects (key text)")


async def blocked_on_a_lock(url: str, pid: int) -> None:
    """Return once backend ``pid`` waits on a lock; AssertionError after LOCK_WAIT_S."""
    deadline = time.monotonic() + LOCK_WAIT_S
    async with await connect(url) as conn:
        while time.monotonic() < deadline:
            cursor = await conn.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
            row = await cursor.fetchone()
            if row is not None and row[0] == "Lock":
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} did not wait on a lock within {LOCK_WAIT_S} s")


async def listening(url: str) -> bool:
    """Whether some connection has LISTENed (a relay's listener is up, so its steps run)."""
    return bool(
        await scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")
    )


async def scalar(url: str, sql: str):
    async with await connect(url) as conn:
        row = await (await conn.execute(sql)).fetchone()
        assert row is not None
        return row[0]


RELAY_WAIT_S = 15.0  # far past a relay's step on loopback (milliseconds), and a NATS restart


async def eventually(check, what: str, timeout_s: float = RELAY_WAIT_S):
    """Await ``check()`` until it returns something truthy; AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


@contextlib.asynccontextmanager
async def relaying(relay):
    """``relay.run`` in the background, stopped (and awaited) at the end of the block."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, RELAY_WAIT_S)


async def received(broker, count: int, timeout_s: float = RELAY_WAIT_S) -> list:
    """The next ``count`` jobs the queue delivers (acked), then whatever else arrives
    within a short grace: a job delivered twice shows up as a longer list."""
    jobs: list = []
    deadline = time.monotonic() + timeout_s
    while len(jobs) < count and time.monotonic() < deadline:
        jobs += await _fetch(broker, count - len(jobs), 0.2)
    return jobs + await _fetch(broker, count + 1, 0.3)


async def _fetch(broker, batch: int, timeout_s: float) -> list:
    deliveries = await broker.fetch(batch, timeout_s=timeout_s)
    jobs = []
    for delivery in deliveries:
        jobs.append(decode(delivery.data))
        await delivery.ack()
    return jobs


@contextlib.asynccontextmanager
async def broker_at(url: str, **options) -> AsyncIterator[JetStreamBroker]:
    broker = await JetStreamBroker.connect(url, **options)
    try:
        yield broker
    finally:
        await broker.close()


@contextlib.asynccontextmanager
async def running(broker: JetStreamBroker, handlers: Mapping, **options) -> AsyncIterator[Worker]:
    """A worker running in the background until the block ends (then stopped gracefully)."""
    options.setdefault("policy", RetryPolicy(max_deliveries=3, base_s=0.05, max_backoff_s=0.2))
    worker = Worker(broker, handlers, **options)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, RELAY_WAIT_S)

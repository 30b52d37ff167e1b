"""Helpers for the queue's PostgreSQL tests: schemas, connections, a wait on a lock."""

from __future__ import annotations

import asyncio
import time

import psycopg

from millionscale.queue import create_effects_schema, create_outbox_schema

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


async def scalar(url: str, sql: str):
    async with await connect(url) as conn:
        row = await (await conn.execute(sql)).fetchone()
        assert row is not None
        return row[0]

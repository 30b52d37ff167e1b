"""A writer that cannot reach Redis queues its invalidations and sends them when Redis is back.

Redis here is durable (append-only file), so the old values it holds survive
its restart, as they would survive a network partition between the writer
and Redis: only the queued invalidation removes them. Past its bound, the
queue gives up on single keys and bumps the generation instead, which
invalidates every key at once.
"""

import asyncio
import signal

import pytest
from cache_support import Truth, caches, eventually, l2_payload, unique_name

from millionscale.servers import start_server

pytestmark = pytest.mark.integration

FAST = {
    "breaker_backoff_s": 0.1,
    "breaker_max_backoff_s": 0.5,
    "ping_interval_s": 0.2,
    "pong_timeout_s": 0.2,
}


async def stop(server) -> None:
    server.kill(signal.SIGTERM)  # a clean shutdown writes the append-only file
    await asyncio.to_thread(server.process.wait, 10)


def test_a_queued_invalidation_is_sent_when_redis_returns():
    rows = {"a": Truth(), "b": Truth()}
    with start_server("redis", durable=True) as server:

        async def scenario():
            async with caches(server.url, 2, name=unique_name("queue"), **FAST) as [writer, reader]:
                for key, row in rows.items():
                    await reader.get_or_load(key, row.read)
                await stop(server)
                rows["a"].commit()
                queued = await writer.invalidate("a")
                own_read = await writer.get_or_load("a", rows["a"].read)  # bypasses the cache
                await asyncio.to_thread(server.restart)
                await eventually(lambda: writer.statistics().pending == 0, 10.0, "queue drained")
                stored = await l2_payload(server.url, writer, "a")
                untouched = await l2_payload(server.url, writer, "b")
                await eventually(lambda: reader.subscribed, 10.0, "reader subscribed again")
                return (
                    queued,
                    own_read,
                    stored,
                    untouched,
                    await reader.get_or_load("a", rows["a"].read),
                )

        queued, own_read, stored, untouched, fresh = asyncio.run(scenario())

    assert queued is False
    assert own_read == {"version": 1}  # the writer reads its own write while the queue waits
    assert untouched == {"version": 0}  # Redis kept its data across the restart...
    assert stored == "missing"  # ...but the queued invalidation removed "a"
    assert fresh == {"version": 1}


def test_an_overflowing_queue_bumps_the_generation_when_redis_returns():
    rows = {key: Truth() for key in ("a", "b", "c", "untouched")}
    with start_server("redis", durable=True) as server:

        async def scenario():
            async with caches(
                server.url, 2, name=unique_name("overflow"), pending_max=2, **FAST
            ) as [writer, reader]:
                for key, row in rows.items():
                    await reader.get_or_load(key, row.read)
                await stop(server)
                for key in ("a", "b", "c"):
                    rows[key].commit()
                    assert await writer.invalidate(key) is False
                overflowed = writer.statistics().pending
                await asyncio.to_thread(server.restart)
                await eventually(lambda: writer.generation == 1, 10.0, "generation bumped")
                await eventually(lambda: reader.subscribed, 10.0, "reader subscribed again")
                seen = {key: await reader.get_or_load(key, row.read) for key, row in rows.items()}
                return overflowed, seen, reader.generation, writer.statistics().pending

        overflowed, seen, reader_generation, pending = asyncio.run(scenario())

    assert overflowed == -1
    assert seen == {key: {"version": row.version} for key, row in rows.items()}
    assert all(row.reads == 2 for row in rows.values())  # even "untouched" was loaded again
    assert (reader_generation, pending) == (1, 0)

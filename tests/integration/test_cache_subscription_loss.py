"""A process that stops hearing invalidations stops using L1 within the detection bound.

The reader reaches Redis through a fault proxy. Frozen (bytes held, nothing
closed: what a stalled link or a hung switch looks like), its subscription
goes quiet; the writer, connected directly, invalidates a key the reader
holds in L1. The reader may serve the old value from L1 only until its
unanswered ping says the subscription is lost: then it clears L1 and its
reads go to the loader. A subscription connection closed by Redis is noticed
at once. Either way L1 is used again once subscribed.
"""

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from cache_support import Truth, caches, eventually, unique_name

from millionscale.chaos import FaultProxy, Partition
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration

KEY = "profile:7"
PING_S, PONG_S = 0.2, 0.2
SLACK_S = 0.3  # event-loop lag on two shared cores
DETECTION = {"ping_interval_s": PING_S, "pong_timeout_s": PONG_S, "l1_admission": "all"}


def proxied(url: str, proxy: FaultProxy) -> str:
    head, _, _ = url.rpartition("@")
    return f"{head}@{proxy.host}:{proxy.port}/0"


def test_a_frozen_subscription_stops_l1_within_ping_plus_timeout(redis: RunningServer):
    truth = Truth()

    async def scenario():
        async with FaultProxy((redis.host, redis.port), name="to-redis") as proxy:
            name = unique_name("frozen")
            async with (
                caches(proxied(redis.url, proxy), 1, name=name, **DETECTION) as [reader],
                caches(redis.url, 1, name=name, **DETECTION) as [writer],
            ):
                await writer.get_or_load(KEY, truth.read)
                assert await reader.get_or_load(KEY, truth.read) == {"version": 0}
                assert await reader.get(KEY) == {"version": 0}  # now from L1
                assert reader.statistics().l1.hits == 1

                await proxy.partition(Partition())  # freeze: nothing closed, nothing moves
                truth.commit()
                assert await writer.invalidate(KEY) is True
                invalidated_at = time.monotonic()
                last_old = invalidated_at
                failures = 0
                while time.monotonic() - invalidated_at < 2.0:
                    try:
                        seen = await reader.get_or_load(KEY, truth.read)
                    except Exception:
                        failures += 1
                        continue
                    if seen == {"version": 0}:
                        last_old = time.monotonic()
                    await asyncio.sleep(0.01)
                unsubscribed = not reader.subscribed

                await proxy.heal()
                await eventually(lambda: reader.subscribed, 10.0, "subscribed again after heal")
                return last_old - invalidated_at, failures, unsubscribed, reader

    stale_for, failures, unsubscribed, reader = asyncio.run(scenario())
    print(f"old value served for {stale_for:.3f} s after invalidate() returned")

    assert 0 < stale_for <= PING_S + PONG_S + SLACK_S, stale_for  # L1 served it, then stopped
    assert failures == 0
    assert unsubscribed
    assert reader.statistics().fall_throughs > 0  # Redis unreachable: the loader answered


def test_a_subscription_closed_by_redis_clears_l1_at_once_and_comes_back(redis: RunningServer):
    truth = Truth()

    async def scenario():
        async with caches(redis.url, 1, name=unique_name("killed-sub"), **DETECTION) as [cache]:
            await cache.get_or_load(KEY, truth.read)
            await cache.get_or_load(KEY, truth.read)  # from L2, admitted into L1
            held = cache.statistics().l1.entries
            admin = aioredis.Redis.from_url(redis.url)
            try:
                killed = await admin.client_kill_filter(_type="pubsub")
            finally:
                await admin.aclose()
            gone_in = await eventually(
                lambda: not cache.subscribed or cache.statistics().l1.entries == 0,
                1.0,
                "the loss noticed",
            )
            emptied = cache.statistics().l1.entries
            back_in = await eventually(lambda: cache.subscribed, 5.0, "subscribed again")
            await cache.get_or_load(KEY, truth.read)
            refilled = cache.statistics().l1.entries
            return held, killed, gone_in, emptied, back_in, refilled

    held, killed, gone_in, emptied, back_in, refilled = asyncio.run(scenario())

    assert (held, killed, emptied, refilled) == (1, 1, 0, 1)
    assert gone_in < 0.5
    assert back_in < 2.0

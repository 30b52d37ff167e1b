"""Bad input never reaches the caller as a traceback: clear errors for its own mistakes,
a miss for garbage someone else left in Redis."""

import asyncio

import pytest
import redis.asyncio as aioredis
from cache_support import Truth, caches, l2_payload, unique_name

from millionscale.cache.absent import MISS
from millionscale.cache.envelope import Envelope
from millionscale.errors import CacheError
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


async def write_raw(url: str, name: str, data: bytes) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await client.set(name, data)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "garbage",
    [b"\x80\x04pickled", b"", b"ms\x01", Envelope(b"{not json").encode(), b"x" * 10_000],
    ids=["pickle-like", "empty", "short", "envelope-of-non-json", "long"],
)
def test_garbage_under_a_key_is_a_miss_and_is_replaced(redis_session: RunningServer, garbage):
    truth = Truth()

    async def scenario():
        async with caches(redis_session.url, 1, name=unique_name("garbage")) as [cache]:
            await write_raw(redis_session.url, f"ms:cache:{cache.name}:0:v:user:1", garbage)
            plain = await cache.get("user:1")
            loaded = await cache.get_or_load("user:1", truth.read)
            stored = await l2_payload(redis_session.url, cache, "user:1")
            return plain, loaded, stored, cache.statistics()

    plain, loaded, stored, stats = asyncio.run(scenario())

    assert plain is MISS
    assert loaded == {"version": 0}
    assert stored == {"version": 0}
    assert stats.corrupt >= 1
    assert stats.fall_throughs == 0  # dropped and loaded under the lease, not around it


def test_a_value_the_codec_cannot_encode_is_a_clear_error_and_frees_the_lease(
    redis_session: RunningServer,
):
    async def bad_loader():
        return {"when": {1, 2}}

    async def good_loader():
        return {"ok": True}

    async def scenario():
        async with caches(redis_session.url, 2, name=unique_name("codec")) as [first, second]:
            with pytest.raises(CacheError) as caught:
                await first.get_or_load("k", bad_loader)
            value = await second.get_or_load("k", good_loader)
            return caught.value, value, second.statistics()

    error, value, stats = asyncio.run(scenario())

    assert "cannot cache the value for key 'k'" in error.message
    assert value == {"ok": True}
    assert stats.lease_waits == 0  # the failed loader released its lease at once


def test_a_value_over_the_size_limit_is_served_but_not_cached(redis_session: RunningServer):
    loads = 0

    async def big():
        nonlocal loads
        loads += 1
        return "x" * 2000

    async def scenario():
        async with caches(redis_session.url, 1, name=unique_name("big"), max_value_bytes=1000) as [
            cache
        ]:
            values = [await cache.get_or_load("big", big) for _ in range(2)]
            return values, cache.statistics()

    values, stats = asyncio.run(scenario())

    assert values == ["x" * 2000] * 2
    assert (loads, stats.too_large) == (2, 2)


def test_garbage_on_the_invalidation_channel_clears_l1_and_changes_nothing_else(
    redis_session: RunningServer,
):
    truth = Truth()

    async def scenario():
        async with caches(redis_session.url, 1, name=unique_name("noise"), l1_admission="all") as [
            cache
        ]:
            await cache.get_or_load("k", truth.read)
            await cache.get_or_load("k", truth.read)
            held = cache.statistics().l1.entries
            client = aioredis.Redis.from_url(redis_session.url)
            try:
                await client.publish(f"ms:cache:{cache.name}:invalidations", b"\xffnot json")
            finally:
                await client.aclose()
            for _ in range(100):
                if cache.statistics().l1.entries == 0:
                    break
                await asyncio.sleep(0.01)
            return held, cache.statistics().l1.entries, cache.subscribed, await cache.get("k")

    held, after, subscribed, value = asyncio.run(scenario())

    assert (held, after, subscribed) == (1, 0, True)
    assert value == {"version": 0}


def test_a_generation_key_holding_garbage_makes_reads_fall_through_without_errors(
    redis_session: RunningServer,
):
    truth = Truth()

    async def scenario():
        async with caches(redis_session.url, 1, name=unique_name("badgen"), subscribed=False) as [
            cache
        ]:
            await write_raw(redis_session.url, f"ms:cache:{cache.name}:generation", b"banana")
            values = [await cache.get_or_load("k", truth.read) for _ in range(3)]
            return values, cache.statistics()

    values, stats = asyncio.run(scenario())

    assert values == [{"version": 0}] * 3
    assert stats.fall_throughs == 3
    assert stats.errors >= 1

"""The read-through API on a real Redis: negative caching, refresh before expiry,
stale while revalidate, hot-key copies in L1, the L1 lifetime backstop, write-through, the decorator."""

import asyncio
import time

import pytest
from cache_support import Truth, caches, eventually, unique_name

from millionscale.cache.absent import ABSENT
from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration


def test_an_absence_is_cached_for_its_own_shorter_ttl(redis_session: RunningServer):
    lookups = 0

    async def nobody():
        nonlocal lookups
        lookups += 1

    async def scenario():
        async with caches(redis_session.url, 1, name=unique_name("absent"), absent_ttl_s=0.2) as [
            c
        ]:
            first = await c.get_or_load("user:nobody", nobody, ttl_s=60)
            second = await c.get_or_load("user:nobody", nobody, ttl_s=60)
            plain = await c.get("user:nobody")
            await asyncio.sleep(0.3)
            await c.get_or_load("user:nobody", nobody, ttl_s=60)
            return first, second, plain

    first, second, plain = asyncio.run(scenario())

    assert (first, second, plain) == (None, None, ABSENT)
    assert lookups == 2  # once, then again after the absence expired


def test_a_value_past_its_ttl_is_served_stale_while_one_reader_refreshes_it(
    redis_session: RunningServer,
):
    truth = Truth()

    async def scenario():
        async with caches(redis_session.url, 1, name=unique_name("swr"), stale_s=2.0, beta=0) as [
            cache
        ]:
            await cache.get_or_load("k", truth.read, ttl_s=0.2)
            truth.commit()
            await asyncio.sleep(0.3)
            started = time.monotonic()
            served = await cache.get_or_load("k", truth.read, ttl_s=0.2)
            latency = time.monotonic() - started
            await eventually(lambda: cache.statistics().sets == 2, 2.0, "refreshed")
            return served, latency, await cache.get_or_load("k", truth.read), cache.statistics()

    served, latency, refreshed, stats = asyncio.run(scenario())

    assert served == {"version": 0}  # the stale value, at once
    assert latency < 0.1
    assert refreshed == {"version": 1}
    assert stats.stale_serves == 1


def test_a_popular_key_is_refreshed_before_it_expires_so_no_reader_misses(
    redis_session: RunningServer,
):
    truth = Truth()

    async def load():
        await asyncio.sleep(0.03)  # the measured load time XFetch scales by
        return await truth.read()

    async def scenario():
        # XFetch's draw fixed at u = 0.9: a read refreshes once the time left is at most
        # delta * beta * -ln(1 - u) = 30 ms * 2 * 2.3 = 138 ms (unit tests cover the randomness)
        async with caches(
            redis_session.url,
            1,
            name=unique_name("xfetch"),
            stale_s=0,
            beta=2.0,
            l1_admission="none",
            random=lambda: 0.9,
        ) as [cache]:
            await cache.get_or_load("k", load, ttl_s=0.4)
            misses_after_warmup = cache.statistics().l2_misses
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                await cache.get_or_load("k", load, ttl_s=0.4)
                await asyncio.sleep(0.005)
            stats = cache.statistics()
            return stats.l2_misses - misses_after_warmup, stats

    misses, stats = asyncio.run(scenario())

    assert stats.early_refreshes >= 3  # 1.5 s of reads over a 0.4 s TTL
    assert misses == 0  # every refresh landed before the value expired
    assert stats.lease_waits == 0


def test_hot_keys_get_l1_copies_and_the_tail_does_not(redis_session: RunningServer):
    truth = Truth()

    async def scenario():
        async with caches(
            redis_session.url,
            1,
            name=unique_name("hot"),
            hot_window_s=0.5,
            hot_share=0.2,
            hot_min_rate=10.0,
        ) as [cache]:
            deadline = time.monotonic() + 0.8
            n = 0
            while time.monotonic() < deadline:
                await cache.get_or_load("celebrity", truth.read)
                await cache.get_or_load(f"tail:{n % 50}", truth.read)
                n += 1
                await asyncio.sleep(0.002)
            return (
                cache.statistics(),
                "celebrity" in cache._l1,
                any(f"tail:{i}" in cache._l1 for i in range(50)),
            )

    stats, hot_in_l1, tail_in_l1 = asyncio.run(scenario())

    assert stats.hot_keys == 1
    assert hot_in_l1
    assert not tail_in_l1
    assert stats.l1.hits > 0


def test_no_l1_entry_outlives_its_lifetime_even_without_an_invalidation(
    redis_session: RunningServer,
):
    truth = Truth()

    async def scenario():
        async with caches(
            redis_session.url, 2, name=unique_name("backstop"), l1_admission="all", l1_ttl_s=0.3
        ) as [reader, other]:
            await reader.get_or_load("k", truth.read)
            await reader.get_or_load("k", truth.read)  # into L1
            truth.commit()
            # A write through a path that forgot to invalidate: a set that does not reach
            # the reader's L1 (its message is dropped by hand).
            reader.on_message = lambda message: None
            await other.set("k", await truth.read())
            from_l1 = await reader.get("k")
            waited = await eventually(lambda: "k" not in reader._l1, 2.0, "the L1 entry expired")
            return from_l1, waited, await reader.get("k")

    from_l1, waited, after = asyncio.run(scenario())

    assert from_l1 == {"version": 0}
    assert waited <= 0.3 + 0.1
    assert after == {"version": 1}


def test_a_write_through_replaces_the_value_everywhere_and_refuses_a_racing_loader(
    redis_session: RunningServer,
):
    truth = Truth()
    gate = asyncio.Event()

    async def hold(step: str, key: str) -> None:
        if step == "loaded":
            await gate.wait()

    async def scenario():
        name = unique_name("write-through")
        async with (
            caches(redis_session.url, 1, name=name, hooks=hold) as [loader_side],
            caches(redis_session.url, 1, name=name) as [writer],
        ):
            racing = asyncio.create_task(loader_side.get_or_load("k", truth.read))
            await eventually(lambda: loader_side.statistics().loads == 1, 2.0, "loading")
            truth.commit()
            assert await writer.set("k", await truth.read()) is True
            gate.set()
            await racing
            return await loader_side.get("k"), loader_side.statistics().sets_refused

    seen, refused = asyncio.run(scenario())

    assert seen == {"version": 1}
    assert refused == 1


def test_a_decorated_function_is_cached_by_its_arguments_and_invalidated_by_them(
    redis_session: RunningServer,
):
    calls: list[int] = []

    async def scenario():
        async with caches(redis_session.url, 1, name=unique_name("decorated")) as [cache]:

            @cache.cached(ttl_s=30)
            async def profile(user_id: int) -> dict:
                calls.append(user_id)
                return {"id": user_id, "n": len(calls)}

            first = [await profile(1), await profile(1), await profile(2)]
            await profile.invalidate(1)
            return first, await profile(1)

    first, again = asyncio.run(scenario())

    assert first == [{"id": 1, "n": 1}, {"id": 1, "n": 1}, {"id": 2, "n": 2}]
    assert again == {"id": 1, "n": 3}
    assert calls == [1, 2, 1]

"""Redis SIGKILLed in the middle of a load: no request fails, and the cache is used again after.

Reads go on throughout: those in flight when Redis dies, and those while it
is dead, are answered by the loader (the breaker skips Redis after the first
failure); once Redis is restarted the breaker's probe and the subscriber
find it again by themselves, and reads are served from Redis again.
"""

import asyncio
import time

import pytest
from cache_support import Truth, caches, eventually, unique_name

from millionscale.servers import RunningServer

pytestmark = pytest.mark.integration

KEYS = [f"item:{i}" for i in range(20)]
RECOVERY_S = 10.0  # restart plus breaker backoff (at most 1 s here) plus resubscription


def test_killing_redis_mid_load_fails_no_request_and_the_cache_recovers(redis: RunningServer):
    truth = Truth()
    in_loader = asyncio.Event()

    async def hook(step: str, key: str) -> None:
        if step == "leased" and key == "slow":
            in_loader.set()

    async def slow_load():
        await asyncio.sleep(0.3)
        return {"slow": True}

    async def scenario():
        async with caches(
            redis.url,
            1,
            name=unique_name("killed"),
            hooks=hook,
            breaker_backoff_s=0.2,
            breaker_max_backoff_s=1.0,
            ping_interval_s=0.2,
            pong_timeout_s=0.2,
        ) as [cache]:
            failures: list[BaseException] = []
            answers: list[object] = []
            stop = time.monotonic() + 1.5

            async def reader(i: int):
                n = 0
                while time.monotonic() < stop:
                    key = KEYS[(i * 7 + n) % len(KEYS)]
                    n += 1
                    try:
                        answers.append(await cache.get_or_load(key, truth.read))
                    except Exception as error:
                        failures.append(error)
                    await asyncio.sleep(0.005)

            readers = [asyncio.create_task(reader(i)) for i in range(8)]
            slow = asyncio.create_task(cache.get_or_load("slow", slow_load))
            await asyncio.wait_for(in_loader.wait(), 5.0)
            redis.kill()  # SIGKILL while "slow" is being loaded under its lease
            slow_value = await slow
            await asyncio.gather(*readers)
            during = cache.statistics()

            await asyncio.to_thread(redis.restart)
            hits_before = cache.statistics().l2_hits

            async def served_from_redis() -> bool:
                await cache.get_or_load("after", truth.read)
                return cache.statistics().l2_hits > hits_before

            deadline = time.monotonic() + RECOVERY_S
            while not await served_from_redis():
                assert time.monotonic() < deadline, "the cache did not use Redis again"
                await asyncio.sleep(0.05)
            await eventually(lambda: cache.subscribed, RECOVERY_S, "resubscribed")
            return failures, answers, slow_value, during, cache.statistics()

    failures, answers, slow_value, during, after = asyncio.run(scenario())

    assert failures == []
    assert len(answers) > 100
    assert all(answer == {"version": 0} for answer in answers)
    assert slow_value == {"slow": True}
    assert during.fall_throughs > 0  # reads went to the loader while Redis was dead
    assert during.errors > 0
    assert not during.subscribed
    assert after.breaker == "closed"
    assert after.subscribed

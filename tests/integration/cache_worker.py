"""One process of the cross-process cache tests: many concurrent reads of one key.

    python cache_worker.py '{"url": ..., "name": ..., "tasks": 125, ...}'

It starts a TieredCache, says it is ready (INCR ``<run>:ready``), waits for
``<run>:go`` to exist, then runs ``tasks`` concurrent ``get_or_load`` of one
key whose loader counts itself in Redis (INCR ``<run>:loads``) and sleeps
``load_s``. It prints one JSON line: the distinct values it got, the errors,
its statistics. Everything is bounded by ``deadline_s``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import redis.asyncio as aioredis

from millionscale.cache import CacheSettings, TieredCache


async def main(spec: dict) -> dict:
    run = spec["run"]
    deadline = time.monotonic() + spec.get("deadline_s", 30.0)
    client = aioredis.Redis.from_url(spec["url"])
    settings = CacheSettings(**spec.get("settings", {}))
    cache = TieredCache(spec["url"], name=spec["name"], settings=settings)

    async def loader():
        number = await client.incr(f"{run}:loads")
        await asyncio.sleep(spec["load_s"])
        return {"load": number}

    async with cache:
        await cache.wait_subscribed(10.0)
        await client.incr(f"{run}:ready")
        while not await client.exists(f"{run}:go"):
            if time.monotonic() > deadline:
                raise SystemExit("no go signal")
            await asyncio.sleep(0.002)
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(cache.get_or_load(spec["key"], loader) for _ in range(spec["tasks"])),
            return_exceptions=True,
        )
        elapsed = time.monotonic() - started
        stats = cache.statistics()
    await client.aclose()
    errors = [repr(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
    values = sorted({json.dumps(outcome) for outcome in outcomes if isinstance(outcome, dict)})
    return {
        "values": values,
        "errors": errors,
        "elapsed_s": elapsed,
        "loads": stats.loads,
        "lease_waits": stats.lease_waits,
        "lease_timeouts": stats.lease_timeouts,
        "joined": stats.joined,
        "fall_throughs": stats.fall_throughs,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)

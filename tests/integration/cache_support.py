"""Helpers for the tiered cache's integration tests: a source of truth, caches, and a peek at L2."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable

import redis.asyncio as aioredis

from millionscale.cache import CacheSettings, TieredCache
from millionscale.cache.envelope import CorruptEnvelope, Envelope

# What the tests allow for a published invalidation to reach a subscriber on
# this machine: the measured delivery is well under a millisecond, this is
# slack for two shared cores under load.
DELIVERY_S = 0.25


class Truth:
    """The source of truth: one row with a version that every commit increments."""

    def __init__(self) -> None:
        self.version = 0
        self.reads = 0

    async def read(self) -> dict[str, int]:
        self.reads += 1
        return {"version": self.version}

    def commit(self) -> int:
        self.version += 1
        return self.version


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


@contextlib.asynccontextmanager
async def caches(
    url: str, count: int, *, name: str, subscribed: bool = True, **knobs: object
) -> AsyncIterator[list[TieredCache]]:
    """``count`` started caches of one name (as in ``count`` processes), subscribed."""
    extras = {what: knobs.pop(what) for what in ("hooks", "random") if what in knobs}
    settings = CacheSettings(**knobs)  # type: ignore[arg-type]
    made = [TieredCache(url, name=name, settings=settings, **extras) for _ in range(count)]  # type: ignore[arg-type]
    try:
        for cache in made:
            await cache.start()
        if subscribed:
            for cache in made:
                assert await cache.wait_subscribed(5.0), "a cache did not subscribe"
        yield made
    finally:
        for cache in made:
            await cache.close()


async def l2_payload(url: str, cache: TieredCache, key: str) -> object:
    """What L2 holds for ``key`` right now, decoded: a value, None (absence) or 'missing'."""
    client = aioredis.Redis.from_url(url)
    try:
        raw = await client.get(f"ms:cache:{cache.name}:{cache.generation}:v:{key}")
    finally:
        await client.aclose()
    if raw is None:
        return "missing"
    assert isinstance(raw, bytes)
    try:
        envelope = Envelope.decode(raw)
    except CorruptEnvelope:
        return "corrupt"
    return None if envelope.payload is None else cache._codec.decode(envelope.payload)


async def eventually(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Wait (polling every 10 ms) until ``check()``; the seconds it took. Fails after ``timeout_s``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started

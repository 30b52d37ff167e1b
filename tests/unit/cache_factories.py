"""Factories for the cache's unit tests: what a test relies on is at its call site."""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

from millionscale.cache import MISS, EvictionReason, L1Cache
from millionscale.testing import FakeClock

HUGE = 1 << 60  # a bound that never binds


def cache(
    *, max_entries: int = 100, max_bytes: int = HUGE, seed: int = 0, **knobs: Any
) -> tuple[L1Cache[Hashable, Any], FakeClock]:
    """An L1 cache on a fake clock with a seeded random source, and its clock.

    Sizes default to 1 per entry (``size=`` or ``sizeof=`` override), so
    ``max_entries`` alone binds unless a test says otherwise.
    """
    clock = FakeClock()
    knobs.setdefault("clock", clock)
    knobs.setdefault("random", random.Random(seed).random)
    knobs.setdefault("sizeof", lambda key, value: 1)
    made: L1Cache[Hashable, Any] = L1Cache(max_entries=max_entries, max_bytes=max_bytes, **knobs)
    return made, clock


def fill(cache: L1Cache[Hashable, Any], keys: range | list[Hashable]) -> None:
    """Set each key to itself."""
    for key in keys:
        cache.set(key, key)


def read_through(cache: L1Cache[Hashable, Any], trace: list[Hashable]) -> int:
    """Serve ``trace`` as an application would (get, set on a miss); the hits."""
    hits = 0
    for key in trace:
        if cache.get(key) is MISS:
            cache.set(key, key)
        else:
            hits += 1
    return hits


class EvictionLog:
    """An ``on_evict`` listener that records what left the cache, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Hashable, Any, EvictionReason]] = []

    def __call__(self, key: Hashable, value: Any, reason: EvictionReason) -> None:
        self.events.append((key, value, reason))

    def keys(self, reason: EvictionReason | None = None) -> list[Hashable]:
        return [key for key, _, why in self.events if reason is None or why is reason]

"""Least frequently used, with aging: drop the key read least often lately.

Counts are kept for the keys in the cache only (in-cache LFU, like
cachetools' ``LFUCache``), one bucket per count, so every operation is O(1):

- a new key starts at count 1; each hit moves its key from bucket ``c`` to
  ``c + 1``; a write to a held key counts as a hit;
- **tie-break**: within a bucket keys are in the order they reached that
  count, and the one that reached it longest ago goes first, so among the
  equally rare the least recently promoted leaves;
- **aging**: plain LFU never forgets, so a key that was hot once stays
  forever and new keys, starting at 1, are evicted first every time. Every
  ``AGING_FACTOR`` (100) x (number of keys held) counted accesses, every count is
  halved (rounding down, at least 1), as TinyLFU's sketch does. Keys whose
  counts merge into one bucket keep their order: lower old count first,
  then the tie-break above. The halving visits every key, once per
  ``AGING_FACTOR`` accesses per key, so its cost is O(1) amortised.

LFU keeps a stable popular set well (a Zipf workload) and resists scans, but
is slow to adapt when popularity shifts, even with aging; W-TinyLFU
(:mod:`.wtinylfu`) gets LFU's hit ratio without that flaw.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from millionscale.cache.sizing import check_bounds

__all__ = ["AGING_FACTOR", "Lfu"]

K = TypeVar("K", bound=Hashable)

# Halve after 100 accesses per key held. TinyLFU's sketch halves after 10 per
# key, but it counts keys outside the cache too; an in-cache LFU aged that often
# lost up to 4.5 points of hit ratio on bench/cache_hit_ratio.py's workloads
# (a key's lead over newcomers is halved away), while 100 was within 0.2 points
# of never aging, or better, on each of them, and still forgets.
AGING_FACTOR = 100
MIN_AGING_PERIOD = 1_000  # a cache of a handful of keys does not halve every few accesses

_NOTHING: tuple[()] = ()


class Lfu(Generic[K]):
    """LFU with aging within ``max_entries`` keys and ``max_bytes`` bytes (see :class:`EvictionPolicy`)."""

    __slots__ = (
        "_accesses",
        "_buckets",
        "_bytes",
        "_counts",
        "_max_bytes",
        "_max_entries",
        "_min",
        "_period",
    )

    name = "lfu"

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        check_bounds(max_entries, max_bytes)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._counts: dict[K, int] = {}
        # count -> (key -> size), in the order the keys reached the count
        self._buckets: dict[int, OrderedDict[K, int]] = {}
        self._min = 0  # the least count held; 0 when unknown (recomputed on need)
        self._bytes = 0
        self._accesses = 0
        self._period = MIN_AGING_PERIOD

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._counts)

    def __contains__(self, key: object) -> bool:
        return key in self._counts

    def count(self, key: K) -> int:
        """The (aged) access count of a held key."""
        return self._counts[key]

    def add(self, key: K, size: int) -> Sequence[K]:
        evicted: Sequence[K] = _NOTHING
        if len(self._counts) >= self._max_entries or self._bytes + size > self._max_bytes:
            evicted = self._make_room(size)
        self._insert(key, 1, size)
        self._min = 1
        self._tick()
        return evicted

    def _insert(self, key: K, count: int, size: int) -> None:
        self._counts[key] = count
        bucket = self._buckets.get(count)
        if bucket is None:
            bucket = self._buckets[count] = OrderedDict()
        bucket[key] = size
        self._bytes += size

    def _detach(self, key: K) -> tuple[int, int]:
        """Take ``key`` out of the structures; return its count and size."""
        count = self._counts.pop(key)
        bucket = self._buckets[count]
        size = bucket.pop(key)
        if not bucket:
            del self._buckets[count]
            if self._min == count:
                self._min = 0
        self._bytes -= size
        return count, size

    def _make_room(self, size: int) -> list[K]:
        """Drop the least frequent keys until one more key of ``size`` bytes fits."""
        evicted = []
        while self._counts and (
            len(self._counts) >= self._max_entries or self._bytes + size > self._max_bytes
        ):
            if not self._min:
                self._min = min(self._buckets)
            bucket = self._buckets[self._min]
            key, dropped = bucket.popitem(last=False)
            del self._counts[key]
            self._bytes -= dropped
            if not bucket:
                del self._buckets[self._min]
                self._min = 0
            evicted.append(key)
        return evicted

    def resize(self, key: K, size: int) -> Sequence[K]:
        count, _ = self._detach(key)
        evicted: Sequence[K] = _NOTHING
        if len(self._counts) >= self._max_entries or self._bytes + size > self._max_bytes:
            evicted = self._make_room(size)
        self._insert(key, count + 1, size)
        if self._min and count + 1 < self._min:
            self._min = count + 1
        self._tick()
        return evicted

    def touch(self, key: K) -> None:
        counts = self._counts
        count = counts[key]
        counts[key] = count + 1
        buckets = self._buckets
        bucket = buckets[count]
        size = bucket.pop(key)
        if not bucket:
            del buckets[count]
            if self._min == count:
                self._min = count + 1
        higher = buckets.get(count + 1)
        if higher is None:
            higher = buckets[count + 1] = OrderedDict()
        higher[key] = size
        self._accesses += 1
        if self._accesses >= self._period:
            self._age()

    def _tick(self) -> None:
        self._accesses += 1
        if self._accesses >= self._period:
            self._age()

    def _age(self) -> None:
        """Halve every count (at least 1), keeping the eviction order of merged buckets."""
        aged: dict[int, OrderedDict[K, int]] = {}
        counts = self._counts
        for count in sorted(self._buckets):
            halved = max(1, count >> 1)
            bucket = aged.get(halved)
            if bucket is None:
                bucket = aged[halved] = OrderedDict()
            for key, size in self._buckets[count].items():
                bucket[key] = size
                counts[key] = halved
        self._buckets = aged
        self._min = 0
        self._accesses = 0
        self._period = max(MIN_AGING_PERIOD, AGING_FACTOR * len(counts))

    def remove(self, key: K) -> None:
        self._detach(key)

    def clear(self) -> None:
        self._counts.clear()
        self._buckets.clear()
        self._min = 0
        self._bytes = 0
        self._accesses = 0

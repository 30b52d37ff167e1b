"""The in-process cache: bounded by entries and bytes, with per-entry expiry.

:class:`L1Cache` is the first tier a read tries: a dict in the web process,
reached in a microsecond, in front of the shared Redis tier (L2, not built
yet) and the database. It holds, per key, a value (or a cached absence,
:data:`~millionscale.cache.absent.ABSENT`), the bytes it is charged and its
deadline, and leaves to an :class:`~millionscale.cache.policy.EvictionPolicy`
the choice of which keys to drop when a bound would be broken.

Guarantees:

- **Bounds.** After every call, ``entries <= max_entries`` and
  ``bytes <= max_bytes``, ``bytes`` being the sum of the sizes charged (see
  :mod:`.sizing`). An entry larger than ``max_bytes`` on its own is refused
  (``set`` returns ``False``, ``rejected`` counts it) and the value it
  would have replaced is dropped, so a reader never gets a value older than
  the last ``set``.
- **Expiry.** A value is never returned at or after its deadline (see
  :mod:`.expiry`; ``ttl_s`` bounds its age). Expired entries are reclaimed
  lazily, by the read that finds them, and by an amortised sweep: each
  ``set`` first reclaims up to ``SWEEP_BATCH`` entries whose deadline has
  passed, earliest first, from a heap of deadlines, so memory held by
  expired entries is given back even for keys nobody reads again, and
  expired entries make room before live ones are evicted. :meth:`expire`
  reclaims all of them at once.
- **Latest value.** ``get`` returns the value of the last ``set`` of the key
  or :data:`~millionscale.cache.absent.MISS`; never an older value, never a
  value after ``delete``.
- **Statistics.** :meth:`statistics` returns a frozen snapshot; the
  identities it keeps are listed in :mod:`.statistics`.

Thread-safety: none is provided, and none is needed for the case it is built
for: one asyncio event loop per process. No method awaits or calls out (but
for ``sizeof``, ``clock``, ``random`` and ``on_evict``, which must not call
back into the cache), so under asyncio every call is atomic with respect to
other tasks. To share one cache between threads, hold one lock around every
call; free-threaded CPython needs that too.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random as _random
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from millionscale.cache.absent import ABSENT, MISS, Absent, Miss
from millionscale.cache.expiry import Expiry
from millionscale.cache.policy import DEFAULT_POLICY, EvictionPolicy, make_policy
from millionscale.cache.sizing import check_bounds, estimate_size
from millionscale.cache.statistics import CacheStatistics, EvictionReason

__all__ = ["SWEEP_BATCH", "L1Cache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Expired entries reclaimed per set. A set adds at most one deadline to the
# heap; reclaiming up to four per set makes the backlog shrink whenever any
# has built up, at a bounded cost per call.
SWEEP_BATCH = 4
# The deadline heap keeps stale items (of keys overwritten or deleted) until
# they surface; it is rebuilt from the live entries when it holds more than
# twice as many items as the cache has entries, plus this slack.
HEAP_SLACK = 1024

_SIZE = EvictionReason.SIZE
_EXPIRED = EvictionReason.EXPIRED
_EXPLICIT = EvictionReason.EXPLICIT


class L1Cache(Generic[K, V]):
    """An in-process cache of at most ``max_entries`` entries and ``max_bytes`` bytes.

    Knobs:

    - ``policy``: ``"w-tinylfu"`` (default), ``"lru"`` or ``"lfu"``;
    - ``ttl_s``: default time to live of values (``math.inf``: never
      expire); ``absent_ttl_s``: of cached absences (default: ``ttl_s``);
      ``jitter``: the fraction by which a lifetime may be shortened at random;
    - ``sizeof(key, value)``: bytes charged per entry (default
      :func:`~millionscale.cache.sizing.estimate_size`);
    - ``clock``: monotonic seconds; ``random``: uniform in [0, 1) (jitter and
      the admission policy); both injected so tests control them;
    - ``on_evict(key, value, reason)``: called after an entry left the cache
      for any :class:`EvictionReason` (not when overwritten).
    """

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        policy: str = DEFAULT_POLICY,
        ttl_s: float = math.inf,
        absent_ttl_s: float | None = None,
        jitter: float = 0.0,
        sizeof: Callable[[K, V | Absent], int] = estimate_size,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
        on_evict: Callable[[K, V | Absent, EvictionReason], None] | None = None,
        name: str = "l1",
    ) -> None:
        check_bounds(max_entries, max_bytes)
        self.name = name
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._policy: EvictionPolicy[K] = make_policy(policy, max_entries, max_bytes, random=random)
        self._expiry = Expiry(ttl_s, jitter, absent_ttl_s)
        self._anything_expires = ttl_s != math.inf or (
            absent_ttl_s is not None and absent_ttl_s != math.inf
        )
        self._sizeof = sizeof
        self._clock = clock
        self._random = random
        self._on_evict = on_evict
        # key -> (value, size charged, deadline or None)
        self._entries: dict[K, tuple[V | Absent, int, float | None]] = {}
        self._deadlines: list[tuple[float, int, K]] = []  # heap of (deadline, tie-break, key)
        self._sequence = itertools.count()
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._absent_hits = 0
        self._sets = 0
        self._rejected = 0
        self._evicted_size = 0
        self._evicted_expired = 0
        self._evicted_explicit = 0

    @property
    def policy(self) -> EvictionPolicy[K]:
        """The eviction policy (read-only use: inspection and tests)."""
        return self._policy

    def get(self, key: K) -> V | Absent | Miss:
        """The value cached for ``key``, :data:`ABSENT` if its absence is cached, else :data:`MISS`."""
        entry = self._entries.get(key)
        if entry is None:
            self._misses += 1
            return MISS
        value, _, expires_at = entry
        if expires_at is not None and expires_at <= self._clock():
            self._drop(key, _EXPIRED)
            self._misses += 1
            return MISS
        self._hits += 1
        self._policy.touch(key)
        if value is ABSENT:
            self._absent_hits += 1
        return value

    def __contains__(self, key: object) -> bool:
        """Whether a live entry is cached for ``key``; no statistics, no effect on eviction."""
        entry = self._entries.get(key)  # type: ignore[arg-type]
        if entry is None:
            return False
        expires_at = entry[2]
        return expires_at is None or expires_at > self._clock()

    def __len__(self) -> int:
        """Entries held, including expired ones not reclaimed yet."""
        return len(self._entries)

    def set(
        self, key: K, value: V | Absent, *, ttl_s: float | None = None, size: int | None = None
    ) -> bool:
        """Cache ``value`` (or :data:`ABSENT`) for ``key``; whether it is held afterwards.

        ``ttl_s`` overrides the cache's time to live for this value (jitter
        still applies; ``math.inf``: never expire); ``size`` overrides
        ``sizeof``. ``False`` means the entry alone is larger than
        ``max_bytes`` and was refused, or the admission policy evicted it at
        once; either way any older value of ``key`` is gone.
        """
        self._sets += 1
        if size is None:
            size = self._sizeof(key, value)
        elif size < 1:
            raise ValueError(f"an entry's size is at least 1 byte, not {size}")
        entries = self._entries
        old = entries.get(key)
        if size > self._max_bytes:
            self._rejected += 1
            if old is not None:
                self._drop(key, _EXPLICIT)
            return False
        now: float | None = None
        deadlines = self._deadlines
        if deadlines:
            # Reclaim expired entries first, so they make room before live ones are evicted.
            now = self._clock()
            if deadlines[0][0] <= now:
                self._sweep(now, SWEEP_BATCH)
                old = entries.get(key)
            if len(deadlines) > 2 * len(entries) + HEAP_SLACK:
                self._rebuild_deadlines()
                deadlines = self._deadlines
        expires_at: float | None = None
        if ttl_s is not None or self._anything_expires:
            if now is None:
                now = self._clock()
            if value is ABSENT:
                expires_at = self._expiry.absent_deadline(now, self._random, ttl_s)
            else:
                expires_at = self._expiry.deadline(now, self._random, ttl_s)
            if expires_at is not None:
                heapq.heappush(deadlines, (expires_at, next(self._sequence), key))
        if old is None:
            evicted = self._policy.add(key, size)
            self._bytes += size
        else:
            evicted = self._policy.resize(key, size)
            self._bytes += size - old[1]
        entries[key] = (value, size, expires_at)
        if not evicted:
            return True
        on_evict = self._on_evict
        for gone in evicted:
            dropped = entries.pop(gone)
            self._bytes -= dropped[1]
            if on_evict is not None:
                on_evict(gone, dropped[0], _SIZE)
        self._evicted_size += len(evicted)
        return key in entries

    def delete(self, key: K) -> bool:
        """Drop ``key``'s entry; whether a live one was there (an expired one counts as expired)."""
        entry = self._entries.get(key)
        if entry is None:
            return False
        expires_at = entry[2]
        if expires_at is not None and expires_at <= self._clock():
            self._drop(key, _EXPIRED)
            return False
        self._drop(key, _EXPLICIT)
        return True

    def expire(self) -> int:
        """Reclaim every entry whose deadline has passed; how many were reclaimed."""
        return self._sweep(self._clock(), len(self._deadlines))

    def clear(self) -> None:
        """Drop every entry (counted as explicit evictions)."""
        entries = self._entries
        self._evicted_explicit += len(entries)
        self._entries = {}
        self._deadlines = []
        self._policy.clear()
        self._bytes = 0
        if self._on_evict is not None:
            for key, (value, _, _) in entries.items():
                self._on_evict(key, value, _EXPLICIT)

    def statistics(self) -> CacheStatistics:
        """A snapshot of the counters (see :mod:`.statistics`)."""
        return CacheStatistics(
            name=self.name,
            policy=self._policy.name,
            hits=self._hits,
            misses=self._misses,
            absent_hits=self._absent_hits,
            sets=self._sets,
            rejected=self._rejected,
            evicted_size=self._evicted_size,
            evicted_expired=self._evicted_expired,
            evicted_explicit=self._evicted_explicit,
            entries=len(self._entries),
            bytes=self._bytes,
            max_entries=self._max_entries,
            max_bytes=self._max_bytes,
        )

    def _drop(self, key: K, reason: EvictionReason) -> None:
        """Remove an entry that expired or was dropped on request (size evictions are in set)."""
        value, size, _ = self._entries.pop(key)
        self._policy.remove(key)
        self._bytes -= size
        if reason is _EXPIRED:
            self._evicted_expired += 1
        else:
            self._evicted_explicit += 1
        if self._on_evict is not None:
            self._on_evict(key, value, reason)

    def _sweep(self, now: float, budget: int) -> int:
        """Reclaim up to ``budget`` expired entries, earliest deadline first."""
        deadlines = self._deadlines
        entries = self._entries
        reclaimed = 0
        while budget > 0 and deadlines and deadlines[0][0] <= now:
            budget -= 1
            _, _, key = heapq.heappop(deadlines)
            entry = entries.get(key)
            # A stale item: the key was deleted, or set again with a later deadline.
            if entry is not None and entry[2] is not None and entry[2] <= now:
                self._drop(key, _EXPIRED)
                reclaimed += 1
        return reclaimed

    def _rebuild_deadlines(self) -> None:
        sequence = self._sequence
        self._deadlines = [
            (expires_at, next(sequence), key)
            for key, (_, _, expires_at) in self._entries.items()
            if expires_at is not None
        ]
        heapq.heapify(self._deadlines)

"""Belady's MIN: the most hits any cache of a given size could get on a known trace.

Belady (1966) showed that evicting the key whose next use lies furthest in
the future is optimal; it needs the future, so it is computed offline, over
a recorded trace, as the ceiling against which real policies are measured
(``bench/cache_hit_ratio.py``). Entries count as one each: this is the
optimum under an entry bound, not under a byte bound with mixed sizes (which
is NP-hard).

The computation is O(n log n): one backward pass records each request's next
use of the same key; the forward pass keeps the cached keys in a max-heap on
next use (stale heap items are skipped when they surface). On a miss with
the cache full, the key used furthest in the future is evicted, which may be
the requested key itself (then it is simply not cached: a cache allowed to
decline an entry, as MIN is usually stated).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Sequence

__all__ = ["belady_hits"]


def belady_hits(trace: Sequence[Hashable], capacity: int) -> int:
    """Hits of an optimal cache of ``capacity`` entries that sees ``trace`` from empty."""
    if capacity < 1:
        raise ValueError(f"capacity must be at least 1, not {capacity}")
    never = len(trace)  # "no next use": later than any real position
    next_use = [never] * len(trace)
    seen: dict[Hashable, int] = {}
    for position in range(len(trace) - 1, -1, -1):
        key = trace[position]
        next_use[position] = seen.get(key, never)
        seen[key] = position
    cached: dict[Hashable, int] = {}  # key -> its next use
    heap: list[tuple[int, int]] = []  # (-next use, position of that use's key)
    hits = 0
    for position, key in enumerate(trace):
        upcoming = next_use[position]
        if key in cached:
            hits += 1
        elif len(cached) >= capacity:
            # Evict the cached key used furthest ahead, unless this one is used later still.
            while True:
                furthest, at = heap[0]
                held = trace[at]
                if cached.get(held) == -furthest:
                    break
                heapq.heappop(heap)  # stale: that key was used (or evicted) since
            if upcoming >= -furthest:
                continue  # decline: the requested key is the one needed last
            heapq.heappop(heap)
            del cached[held]
        cached[key] = upcoming
        heapq.heappush(heap, (-upcoming, position))
    return hits

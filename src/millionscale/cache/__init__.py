"""Cache tiers: keep the answers to popular reads close, for as long as they stay true.

Built so far, all pure (no sockets; time and randomness injected), bottom up:

- :mod:`.absent` names the two non-values of a lookup: a cached absence
  (:data:`ABSENT`, for negative caching) and a miss (:data:`MISS`);
- :mod:`.sizing` charges each entry a number of bytes against the byte bound;
- :mod:`.expiry` turns a time to live and a jitter fraction into a deadline;
- :mod:`.sketch` estimates recent key frequencies in 4-bit counters;
- :mod:`.policy` is the eviction policy interface, with :mod:`.lru`,
  :mod:`.lfu` (with aging) and :mod:`.wtinylfu` (Caffeine's W-TinyLFU, the
  default);
- :mod:`.l1` is the in-process cache, :class:`L1Cache`: ``get``, ``set``,
  ``delete``, bounds on entries and bytes, per-entry expiry, and
  :meth:`L1Cache.statistics` (:mod:`.statistics`);
- :mod:`.belady` computes the optimal hit count of a trace offline, the
  ceiling the benchmark measures the policies against.

The shared Redis tier (L2) and the tiered read-through cache around this L1
(stampede protection, invalidation across processes, hot-key copies) are in
:mod:`.tiered` (:class:`TieredCache`), with its knobs in :mod:`.settings`
(:class:`CacheSettings`), its record in :mod:`.statistics`
(:class:`TieredStatistics`), its decorator in :mod:`.decorator`
(:class:`CachedFunction`) and the modules it imports; ``docs/cache.md``
describes both, with their measurements.
"""

from millionscale.cache.absent import ABSENT, MISS, Absent, Miss
from millionscale.cache.belady import belady_hits
from millionscale.cache.decorator import CachedFunction
from millionscale.cache.expiry import Expiry
from millionscale.cache.l1 import SWEEP_BATCH, L1Cache
from millionscale.cache.lfu import AGING_FACTOR, Lfu
from millionscale.cache.lru import Lru
from millionscale.cache.policy import DEFAULT_POLICY, POLICIES, EvictionPolicy, make_policy
from millionscale.cache.settings import CacheSettings, L1Admission
from millionscale.cache.sizing import ENTRY_OVERHEAD, estimate_size
from millionscale.cache.sketch import FrequencySketch
from millionscale.cache.statistics import CacheStatistics, EvictionReason, TieredStatistics
from millionscale.cache.tiered import TieredCache
from millionscale.cache.wtinylfu import (
    PROTECTED_SHARE,
    RANDOM_ADMISSION,
    WARM_CANDIDATE,
    WINDOW_SHARE,
    WTinyLfu,
)

__all__ = [
    "ABSENT",
    "AGING_FACTOR",
    "DEFAULT_POLICY",
    "ENTRY_OVERHEAD",
    "MISS",
    "POLICIES",
    "PROTECTED_SHARE",
    "RANDOM_ADMISSION",
    "SWEEP_BATCH",
    "WARM_CANDIDATE",
    "WINDOW_SHARE",
    "Absent",
    "CacheSettings",
    "CacheStatistics",
    "CachedFunction",
    "EvictionPolicy",
    "EvictionReason",
    "Expiry",
    "FrequencySketch",
    "L1Admission",
    "L1Cache",
    "Lfu",
    "Lru",
    "Miss",
    "TieredCache",
    "TieredStatistics",
    "WTinyLfu",
    "belady_hits",
    "estimate_size",
    "make_policy",
]

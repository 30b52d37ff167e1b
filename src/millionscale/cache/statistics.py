"""What an L1 cache did: the counters behind its hit ratio and its memory.

Every counter only grows except ``entries`` and ``bytes``, which are the
cache's contents when the snapshot was taken. The record is frozen and
cheap to take (a dozen integers), so the metrics exporter and the tiered
cache above can take one per scrape or per request.

Identities that hold for every snapshot (the tests check them):

- ``hits + misses == gets``: every ``get`` is exactly one of the two;
  ``absent_hits`` counts the hits that found a cached absence, and is part
  of ``hits``;
- an entry leaves the cache for exactly one of three reasons, each counted
  once: ``evicted_size`` (the policy made room), ``evicted_expired`` (its
  deadline passed: found expired by a read, or reclaimed by the sweep),
  ``evicted_explicit`` (``delete``, ``clear``, or a ``set`` of a value too
  large to cache, which drops the value it replaces); an overwrite by
  ``set`` replaces an entry without counting it as gone;
- ``entries <= max_entries`` and ``bytes <= max_bytes``.

A tiered cache's record, :class:`TieredStatistics`, holds its L1's
:class:`CacheStatistics` and the counters of the tiers above
(:class:`TieredCounts`, mutable and kept by the cache itself).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["CacheStatistics", "EvictionReason", "TieredCounts", "TieredStatistics"]


class EvictionReason(enum.Enum):
    """Why an entry left the cache (the label of the eviction counter)."""

    SIZE = "size"  # the policy dropped it to stay within max_entries or max_bytes
    EXPIRED = "expired"  # its time to live ran out
    EXPLICIT = "explicit"  # delete(), clear(), or a too-large set() replacing it


@dataclass(frozen=True, slots=True)
class CacheStatistics:
    """A snapshot of an L1 cache's counters (see the module's docstring)."""

    name: str
    policy: str
    hits: int
    misses: int
    absent_hits: int
    sets: int
    rejected: int  # sets refused because the entry alone is larger than max_bytes
    evicted_size: int
    evicted_expired: int
    evicted_explicit: int
    entries: int
    bytes: int
    max_entries: int
    max_bytes: int

    @property
    def gets(self) -> int:
        """Lookups answered: ``hits + misses``."""
        return self.hits + self.misses

    @property
    def hit_ratio(self) -> float:
        """``hits / gets``, 0.0 before the first lookup."""
        gets = self.hits + self.misses
        return self.hits / gets if gets else 0.0

    @property
    def evictions(self) -> int:
        """Entries that left the cache, for any reason."""
        return self.evicted_size + self.evicted_expired + self.evicted_explicit

    def evicted(self, reason: EvictionReason) -> int:
        """Entries that left the cache for ``reason``."""
        match reason:
            case EvictionReason.SIZE:
                return self.evicted_size
            case EvictionReason.EXPIRED:
                return self.evicted_expired
            case EvictionReason.EXPLICIT:
                return self.evicted_explicit


@dataclass(frozen=True, slots=True)
class TieredStatistics:
    """What a tiered cache has done since it was made; ``l1`` is its L1's own record.

    Reads: ``l1.hits`` served from L1; ``l2_hits`` from Redis (of which
    ``stale_serves`` were past their fresh life and ``early_refreshes`` fired
    XFetch); ``l2_misses`` found nothing in Redis; ``fall_throughs`` went to
    the loader without Redis (breaker open, Redis failed, a queued
    invalidation, a lease waited for too long: ``lease_timeouts``). Loads:
    ``loads`` loader calls, ``load_errors`` that raised; ``sets`` written to
    Redis under a lease, ``sets_refused`` refused (the lease was invalidated
    or lost), ``too_large`` not cached for size. ``lease_waits`` polls of a
    lease another process held; ``joined`` calls that shared a load already
    in flight in this process. Invalidations: ``invalidations`` keys this
    process invalidated, ``invalidations_queued`` of them queued for later,
    ``invalidations_received`` keys dropped on a message, ``fenced`` L1
    admissions refused because an invalidation overtook the read. Errors:
    ``errors`` Redis failures, ``corrupt`` undecodable values dropped.
    """

    name: str
    l1: CacheStatistics
    l2_hits: int
    l2_misses: int
    stale_serves: int
    early_refreshes: int
    loads: int
    load_errors: int
    sets: int
    sets_refused: int
    too_large: int
    lease_waits: int
    lease_timeouts: int
    joined: int
    fall_throughs: int
    invalidations: int
    invalidations_queued: int
    invalidations_received: int
    fenced: int
    errors: int
    corrupt: int
    generation: int
    subscribed: bool
    breaker: str
    hot_keys: int
    pending: int


@dataclass(slots=True)
class TieredCounts:
    """The counters behind :class:`TieredStatistics` (mutable, private)."""

    corrupt: int = 0
    early_refreshes: int = 0
    errors: int = 0
    fall_throughs: int = 0
    fenced: int = 0
    invalidations: int = 0
    invalidations_queued: int = 0
    invalidations_received: int = 0
    l2_hits: int = 0
    l2_misses: int = 0
    lease_timeouts: int = 0
    lease_waits: int = 0
    load_errors: int = 0
    loads: int = 0
    sets: int = 0
    sets_refused: int = 0
    stale_serves: int = 0
    too_large: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

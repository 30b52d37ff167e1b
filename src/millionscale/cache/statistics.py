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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["CacheStatistics", "EvictionReason"]


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

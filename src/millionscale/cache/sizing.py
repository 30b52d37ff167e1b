"""How many bytes an entry is charged against the cache's byte bound.

The byte bound is only as good as the sizes it adds up. Python has no cheap
exact answer ("how much memory would freeing this entry give back?"), so the
cache charges each entry an estimate, and lets the caller say better:

- ``set(key, value, size=n)`` charges exactly ``n`` (a caller that holds the
  serialised form knows its length);
- ``L1Cache(sizeof=f)`` replaces the estimate for every entry;
- the default, :func:`estimate_size`, charges ``ENTRY_OVERHEAD`` plus the
  payload of the key and of the value: ``len()`` of ``bytes``, ``bytearray``
  and ``str`` (code points, not UTF-8 bytes: a close bound for mostly-ASCII
  text), ``nbytes`` of a ``memoryview``, nothing for a cached absence, ``None``,
  a bool, a float or an int below 2**30 (the entry overhead covers their
  object), and ``sys.getsizeof()`` of anything else, which is *shallow*: a dict of
  strings is charged for its table, not its strings. Cache serialised bytes
  (what L2 will hold anyway), or pass ``sizeof``, when values are nested.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable

from millionscale.cache.absent import Absent

__all__ = ["ENTRY_OVERHEAD", "check_bounds", "estimate_size"]

# What one entry of an L1Cache costs beyond its key and value, rounded up from
# tracemalloc on CPython 3.11: 100,000 entries of int keys and None values took
# 222 bytes each under LRU, 306 under W-TinyLFU (its sketch and the size and
# digest it keeps per key included) and 311 under LFU: the entry record, its
# slots in the cache's dict and in the policy's ordered dicts. Dicts grow by
# doubling, so the true figure moves by +-30 % with occupancy.
ENTRY_OVERHEAD = 320


# Tuples, not ``bytes | str`` unions: a union in isinstance() is built anew on
# every call, which made the estimate cost more than the rest of a set.
_TEXT = (bytes, bytearray, str)
_FREE = (Absent, bool, int, float, type(None))
_SMALL_INT = 1 << 30  # CPython stores ints below 2**30 in one 30-bit digit


def _payload(obj: object) -> int:
    kind = type(obj)
    if kind is str or kind is bytes:  # the common cases first, without isinstance()
        return len(obj)  # type: ignore[arg-type]
    if kind is int:
        return 0 if -_SMALL_INT < obj < _SMALL_INT else sys.getsizeof(obj)  # type: ignore[operator]
    if isinstance(obj, _TEXT):
        return len(obj)
    if isinstance(obj, _FREE) and not (isinstance(obj, int) and abs(obj) >= _SMALL_INT):
        return 0  # singletons, and numbers whose object the entry overhead covers
    if isinstance(obj, memoryview):
        return obj.nbytes
    return sys.getsizeof(obj)


def estimate_size(key: Hashable, value: object) -> int:
    """The bytes an entry of ``key`` and ``value`` is charged: overhead plus payloads."""
    return ENTRY_OVERHEAD + _payload(key) + _payload(value)


def check_bounds(max_entries: int, max_bytes: int) -> None:
    """Raise ``ValueError`` unless both bounds of a cache allow at least one entry."""
    if max_entries < 1 or max_bytes < 1:
        raise ValueError(
            f"max_entries and max_bytes must be at least 1, not {max_entries} and {max_bytes}"
        )

"""Least recently used: drop the key that was read or written longest ago.

One ordered dict, oldest first; a hit moves the key to the end, a new key
goes to the end, room is made from the front. Every operation is O(1).

LRU is the baseline and the right choice when recency is all there is
(sessions, a user's own recent data); it has no defence against a scan,
which sweeps the whole cache out once, and it keeps one-hit wonders as long
as popular keys. ``docs/cache.md`` has the numbers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from millionscale.cache.sizing import check_bounds

__all__ = ["Lru"]

K = TypeVar("K", bound=Hashable)

_NOTHING: tuple[()] = ()


class Lru(Generic[K]):
    """LRU within ``max_entries`` keys and ``max_bytes`` bytes (see :class:`EvictionPolicy`)."""

    __slots__ = ("_bytes", "_max_bytes", "_max_entries", "_order")

    name = "lru"

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        check_bounds(max_entries, max_bytes)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._order: OrderedDict[K, int] = OrderedDict()  # key -> size, least recent first
        self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: object) -> bool:
        return key in self._order

    def add(self, key: K, size: int) -> Sequence[K]:
        order = self._order
        if len(order) < self._max_entries and self._bytes + size <= self._max_bytes:
            order[key] = size
            self._bytes += size
            return _NOTHING
        # Drop least recent keys until this one fits (written inline: a full cache
        # comes here on every miss).
        evicted = []
        while order and (len(order) >= self._max_entries or self._bytes + size > self._max_bytes):
            gone, dropped = order.popitem(last=False)
            self._bytes -= dropped
            evicted.append(gone)
        order[key] = size
        self._bytes += size
        return evicted

    def resize(self, key: K, size: int) -> Sequence[K]:
        self._bytes -= self._order.pop(key)
        return self.add(key, size)

    def touch(self, key: K) -> None:
        self._order.move_to_end(key)

    def remove(self, key: K) -> None:
        self._bytes -= self._order.pop(key)

    def clear(self) -> None:
        self._order.clear()
        self._bytes = 0

"""How often a key was asked for lately: a count-min sketch of 4-bit counters.

W-TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
Admission Policy", ACM ToS 2017; Caffeine's ``FrequencySketch``) needs the
recent frequency of keys that are *not* in the cache too, in little memory.
This sketch answers it approximately:

- **Counters.** ``DEPTH`` rows of ``width`` counters, ``width`` the power of
  two at or above ``ROW_FACTOR`` (4) times the capacity it is sized for:
  16 counters, 8 bytes, per key the cache can hold, Caffeine's budget (a
  quarter of it cost up to 3 points of hit ratio in ``bench/
  cache_hit_ratio.py``: a small table overestimates). A key is hashed to one
  counter per row; :meth:`FrequencySketch.increment` adds one to each of its
  counters that is below 15, :meth:`FrequencySketch.frequency` is the least
  of them. Hash collisions only ever add, so the estimate is never below the
  true count since the last reset (count-min), and is capped at 15.
- **4 bits each.** Two counters share a byte; 15 is enough because the only
  question asked is "is the newcomer more popular than the victim?", and a
  key asked for 15 times in one sample period is hot either way.
- **Aging.** After ``RESET_FACTOR * capacity`` increments every counter is
  halved (Caffeine's reset), so the sketch forgets the past at the pace of
  the workload and a key that was hot yesterday does not block today's.

There is no doorkeeper (the Bloom filter TinyLFU's paper puts before the
counters to absorb one-hit wonders): Caffeine ships without one by default,
and the 4-bit counters keep the table small enough without it.

The sketch grows (and starts over) with :meth:`FrequencySketch.ensure_capacity`
as the cache it serves holds more entries, as Caffeine's does, so a cache
bounded only by bytes does not allocate for an entry count it never reaches.
"""

from __future__ import annotations

from collections.abc import Hashable

__all__ = ["DEPTH", "MAX_COUNT", "RESET_FACTOR", "ROW_FACTOR", "FrequencySketch"]

DEPTH = 4  # rows (hash functions): Caffeine's and the TinyLFU paper's choice
ROW_FACTOR = 4  # counters per row per key of capacity: 16 per key in all, as Caffeine
MAX_COUNT = 15  # a 4-bit counter saturates here
RESET_FACTOR = 10  # halve after 10 x capacity increments: Caffeine's sample size
MIN_WIDTH = 16  # counters per row of the smallest table

_MASK64 = (1 << 64) - 1
# Halving a byte halves both of its 4-bit counters: shift right, then clear
# the bit that crossed from the high counter into the low one.
_HALVE = bytes(((b >> 1) & 0x77) for b in range(256))


def _spread(h: int) -> int:
    """A hash mixed over all 64 bits: splitmix64's finaliser."""
    h &= _MASK64
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK64
    return h ^ (h >> 31)


class FrequencySketch:
    """Approximate recent frequencies (0 to 15) of keys, in ``DEPTH * width / 2`` bytes.

    Not thread-safe; cheap enough to call on every cache access.
    """

    __slots__ = ("_additions", "_bits", "_capacity", "_sample_size", "_table", "_width")

    def __init__(self, capacity: int) -> None:
        self._capacity = 0
        self._width = 0
        self._bits = 0
        self._sample_size = 0
        self._additions = 0
        self._table = bytearray()
        self.ensure_capacity(capacity)

    @property
    def capacity(self) -> int:
        """The number of distinct keys the table is sized for."""
        return self._capacity

    @property
    def sample_size(self) -> int:
        """Increments between two halvings."""
        return self._sample_size

    def ensure_capacity(self, capacity: int) -> None:
        """Size the table for ``capacity`` keys; a larger table starts with zero counts."""
        capacity = max(1, capacity)
        if capacity <= self._capacity:
            return
        width = MIN_WIDTH
        while width < ROW_FACTOR * capacity:
            width *= 2
        self._capacity = capacity
        self._sample_size = RESET_FACTOR * capacity
        self._additions = 0
        if width != self._width:
            self._width = width
            self._bits = width.bit_length() - 1
            self._table = bytearray(DEPTH * width // 2)

    @staticmethod
    def digest(key: Hashable) -> int:
        """The 64-bit hash the sketch indexes ``key`` by; a policy may keep it per key.

        ``hash(key)`` through splitmix64's finaliser: Python hashes an integer
        to itself, so the ids a cache sees most often would otherwise differ
        in their low bits only. (CPython's tuple hash is cheaper but left
        consecutive integers colliding a third more often.)
        """
        return _spread(hash(key))

    def frequency(self, key: Hashable) -> int:
        """The estimated number of increments of ``key`` since the last halving (at most 15)."""
        return self.frequency_digest(_spread(hash(key)))

    def increment(self, key: Hashable) -> None:
        """Count one more access to ``key``; every ``sample_size`` increments, halve all counts."""
        self.increment_digest(_spread(hash(key)))

    # The two methods below are unrolled by hand: they run on every cache access,
    # and a loop over the four rows costs twice as much in CPython. Each row
    # takes its own ``bits``-bit slice of the digest (a table too wide for four
    # slices of 64 bits takes 64 more bits from a second round). Rows 0 and 1
    # are the low and high nibbles of the first ``width`` bytes, rows 2 and 3
    # those of the next ``width``: a row's nibble is fixed, so no shift has to
    # be computed per counter.

    def frequency_digest(self, h: int) -> int:
        """:meth:`frequency` of the key whose :meth:`digest` is ``h``."""
        bits = self._bits
        if bits > 16:
            h |= _spread(h) << 64
        table = self._table
        width = self._width
        mask = width - 1
        least = table[h & mask] & 0xF
        count = table[(h >> bits) & mask] >> 4
        if count < least:
            least = count
        count = table[width + ((h >> 2 * bits) & mask)] & 0xF
        if count < least:
            least = count
        count = table[width + ((h >> 3 * bits) & mask)] >> 4
        if count < least:
            least = count
        return least

    def increment_digest(self, h: int) -> None:
        """:meth:`increment` of the key whose :meth:`digest` is ``h``."""
        bits = self._bits
        if bits > 16:
            h |= _spread(h) << 64
        table = self._table
        width = self._width
        mask = width - 1
        i = h & mask
        byte = table[i]
        if byte & 0xF != MAX_COUNT:
            table[i] = byte + 0x01
        i = (h >> bits) & mask
        byte = table[i]
        if byte < 0xF0:
            table[i] = byte + 0x10
        i = width + ((h >> 2 * bits) & mask)
        byte = table[i]
        if byte & 0xF != MAX_COUNT:
            table[i] = byte + 0x01
        i = width + ((h >> 3 * bits) & mask)
        byte = table[i]
        if byte < 0xF0:
            table[i] = byte + 0x10
        self._additions += 1
        if self._additions >= self._sample_size:
            self.halve()

    def halve(self) -> None:
        """Age every count: halve it (rounding down), as Caffeine's reset does."""
        self._table = self._table.translate(_HALVE)
        self._additions //= 2

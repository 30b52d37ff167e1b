"""W-TinyLFU: admit a new key only if it is asked for more often than the key it displaces.

The policy of Caffeine (Ben Manes; Einziger, Friedman and Manes, "TinyLFU:
A Highly Efficient Cache Admission Policy", ACM ToS 2017, and Caffeine's
design notes), which this module follows in structure, with its own code:

- **Window** (``WINDOW_SHARE`` = 1 % of each bound): an LRU that every new
  key enters. It gives a newcomer a short life in which to prove itself, so
  bursts of recency (a key asked for ten times in a second, then never) hit.
- **Main** (the other 99 %): a segmented LRU. Keys leaving the window enter
  its *probation* segment; a hit in probation promotes the key to the
  *protected* segment (``PROTECTED_SHARE`` = 80 % of main); protected keys
  pushed out by promotions go back to probation's most recent end.
- **Admission.** When the cache is over a bound, the key pushed out of the
  window (the *candidate*) contests the least recent key of probation (the
  *victim*): the :class:`~millionscale.cache.sketch.FrequencySketch`, fed by
  every read and write, estimates how often each was asked for lately, and
  the less popular one is evicted. Ties go to the victim: a newcomer must be
  strictly more popular. A candidate that wins stays in probation and takes
  on the next victim if more room is needed; one that loses is evicted and
  the next candidate (if the window pushed out several) takes its place.
  When probation holds no one but candidates, the victim is protected's
  least recent key.
- **Against hash flooding.** A hot victim beats every warm candidate, so an
  attacker who makes a key collide with a hot one could keep it out forever;
  as Caffeine does, a candidate of estimated frequency at least
  ``WARM_CANDIDATE`` (6) that would lose is admitted anyway one time in
  ``1 / RANDOM_ADMISSION`` (128), from the injected random source.

Sizes are charged in both dimensions: each segment's share applies to the
entry bound and to the byte bound alike, so the policy behaves the same
whichever bound binds. A key larger than the window's byte share leaves the
window at once and contests as a candidate immediately (Caffeine does the
same with weights), so ``add`` may evict the key it was given.

Not built, unlike Caffeine: hill climbing of the window's share (Caffeine
moves it between 0 and 80 % to suit recency- or frequency-biased workloads;
here it stays at 1 %, Caffeine's starting point), and a doorkeeper (see
:mod:`.sketch`).
"""

from __future__ import annotations

import random as _random
import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from millionscale.cache.sizing import check_bounds
from millionscale.cache.sketch import FrequencySketch

__all__ = [
    "INITIAL_SKETCH_CAPACITY",
    "PROTECTED_SHARE",
    "RANDOM_ADMISSION",
    "WARM_CANDIDATE",
    "WINDOW_SHARE",
    "WTinyLfu",
]

K = TypeVar("K", bound=Hashable)

WINDOW_SHARE = 0.01  # Caffeine's initial window: 1 % of the maximum
PROTECTED_SHARE = 0.80  # Caffeine: the protected segment is 80 % of main
WARM_CANDIDATE = 6  # Caffeine's frequency above which a losing candidate may win at random
RANDOM_ADMISSION = 1 / 128  # Caffeine's odds of that random admission
# The sketch is sized for the entry bound, but not past this many keys until the
# cache holds them (a cache bounded by bytes may set max_entries very high).
INITIAL_SKETCH_CAPACITY = 1 << 16

_NOTHING: tuple[()] = ()
# Each segment maps a key to one int holding its size and its sketch digest,
# ``size << _SIZE_SHIFT | digest``, so a hit or a contest reuses the digest
# instead of hashing the key again (half the cost of a sketch update).
_SIZE_SHIFT = 64
_DIGEST = (1 << _SIZE_SHIFT) - 1


class WTinyLfu(Generic[K]):
    """W-TinyLFU within ``max_entries`` keys and ``max_bytes`` bytes (see :class:`EvictionPolicy`)."""

    __slots__ = (
        "_bytes",
        "_count",
        "_grow_sketch_at",
        "_max_bytes",
        "_max_entries",
        "_probation",
        "_probation_bytes",
        "_protected",
        "_protected_bytes",
        "_protected_max_bytes",
        "_protected_max_entries",
        "_random",
        "_sketch",
        "_window",
        "_window_bytes",
        "_window_max_bytes",
        "_window_max_entries",
    )

    name = "w-tinylfu"

    def __init__(
        self, max_entries: int, max_bytes: int, *, random: Callable[[], float] = _random.random
    ) -> None:
        check_bounds(max_entries, max_bytes)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._window_max_entries = max(1, int(max_entries * WINDOW_SHARE))
        self._window_max_bytes = max(1, int(max_bytes * WINDOW_SHARE))
        self._protected_max_entries = int(
            (max_entries - self._window_max_entries) * PROTECTED_SHARE
        )
        self._protected_max_bytes = int((max_bytes - self._window_max_bytes) * PROTECTED_SHARE)
        self._random = random
        self._sketch = FrequencySketch(min(max_entries, INITIAL_SKETCH_CAPACITY))
        self._grow_sketch_at = self._sketch_growth_point()
        # Three LRU segments, least recent first: key -> size << _SIZE_SHIFT | digest.
        self._window: OrderedDict[K, int] = OrderedDict()
        self._probation: OrderedDict[K, int] = OrderedDict()
        self._protected: OrderedDict[K, int] = OrderedDict()
        self._window_bytes = 0
        self._probation_bytes = 0
        self._protected_bytes = 0
        self._bytes = 0
        self._count = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def _sketch_growth_point(self) -> int:
        """The entry count past which the sketch is too small (never, once sized for the bound)."""
        capacity = self._sketch.capacity
        return capacity if capacity < self._max_entries else sys.maxsize

    @property
    def sketch(self) -> FrequencySketch:
        """The frequency sketch (for inspection and tests)."""
        return self._sketch

    def segments(self) -> tuple[list[K], list[K], list[K]]:
        """The keys of window, probation and protected, least recent first (for tests)."""
        return list(self._window), list(self._probation), list(self._protected)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        return key in self._protected or key in self._window or key in self._probation

    def add(self, key: K, size: int) -> Sequence[K]:
        digest = self._sketch.digest(key)
        self._sketch.increment_digest(digest)
        window = self._window
        window[key] = size << _SIZE_SHIFT | digest
        self._window_bytes += size
        self._bytes += size
        self._count += 1
        if self._count > self._grow_sketch_at:
            self._sketch.ensure_capacity(min(self._max_entries, 2 * self._count))
            self._grow_sketch_at = self._sketch_growth_point()
        if (
            len(window) > self._window_max_entries
            or self._window_bytes > self._window_max_bytes
            or self._count > self._max_entries
            or self._bytes > self._max_bytes
        ):
            return self._evict()
        return _NOTHING

    def resize(self, key: K, size: int) -> Sequence[K]:
        if key in self._protected:
            before = self._protected[key]
            self._protected[key] = size << _SIZE_SHIFT | (before & _DIGEST)
            self._protected_bytes += size - (before >> _SIZE_SHIFT)
        elif key in self._window:
            before = self._window[key]
            self._window[key] = size << _SIZE_SHIFT | (before & _DIGEST)
            self._window_bytes += size - (before >> _SIZE_SHIFT)
        else:
            before = self._probation[key]
            self._probation[key] = size << _SIZE_SHIFT | (before & _DIGEST)
            self._probation_bytes += size - (before >> _SIZE_SHIFT)
        self._bytes += size - (before >> _SIZE_SHIFT)
        self.touch(key)
        self._demote()
        return self._evict()

    def touch(self, key: K) -> None:
        protected = self._protected
        packed = protected.get(key)
        if packed is not None:
            protected.move_to_end(key)
            self._sketch.increment_digest(packed & _DIGEST)
            return
        window = self._window
        packed = window.get(key)
        if packed is not None:
            window.move_to_end(key)
            self._sketch.increment_digest(packed & _DIGEST)
            return
        packed = self._probation.pop(key)
        self._sketch.increment_digest(packed & _DIGEST)
        size = packed >> _SIZE_SHIFT
        self._probation_bytes -= size
        protected[key] = packed
        self._protected_bytes += size
        if (
            len(protected) > self._protected_max_entries
            or self._protected_bytes > self._protected_max_bytes
        ):
            self._demote()

    def _demote(self) -> None:
        """Move protected's least recent keys to probation until protected is within its share."""
        protected = self._protected
        probation = self._probation
        while protected and (
            len(protected) > self._protected_max_entries
            or self._protected_bytes > self._protected_max_bytes
        ):
            key, packed = protected.popitem(last=False)
            size = packed >> _SIZE_SHIFT
            self._protected_bytes -= size
            probation[key] = packed
            self._probation_bytes += size

    def _evict(self) -> Sequence[K]:
        """Move the window's overflow to probation, then run the admission contests.

        Written as one loop, without helper calls: it runs on nearly every
        miss of a full cache.
        """
        window = self._window
        probation = self._probation
        protected = self._protected
        candidates: list[K] = []
        while window and (
            len(window) > self._window_max_entries or self._window_bytes > self._window_max_bytes
        ):
            key, packed = window.popitem(last=False)
            size = packed >> _SIZE_SHIFT
            self._window_bytes -= size
            probation[key] = packed
            self._probation_bytes += size
            candidates.append(key)
        max_entries = self._max_entries
        max_bytes = self._max_bytes
        if self._count <= max_entries and self._bytes <= max_bytes:
            return _NOTHING
        frequency = self._sketch.frequency_digest
        if (
            len(candidates) == 1
            and self._count == max_entries + 1
            and self._bytes <= max_bytes
            and len(probation) > 1
        ):
            # A full cache's miss, by far the most common case: one contest
            # between the newest and the oldest key of probation (which differ).
            newest = candidates[0]
            oldest = next(iter(probation))
            candidate_packed = probation[newest]
            victim_packed = probation[oldest]
            candidate_frequency = frequency(candidate_packed & _DIGEST)
            if candidate_frequency > frequency(victim_packed & _DIGEST) or (
                candidate_frequency >= WARM_CANDIDATE and self._random() < RANDOM_ADMISSION
            ):
                loser, packed = oldest, victim_packed
            else:
                loser, packed = newest, candidate_packed
            del probation[loser]
            size = packed >> _SIZE_SHIFT
            self._probation_bytes -= size
            self._bytes -= size
            self._count -= 1
            return [loser]
        evicted: list[K] = []
        # candidates[:first] are evicted; candidates[first:] sit, in order, at
        # probation's most recent end, so probation's least recent key is a
        # candidate exactly when it is candidates[first].
        first = 0
        while self._count > max_entries or self._bytes > max_bytes:
            candidate = candidates[first] if first < len(candidates) else None
            # The victim: probation's least recent key unless it is the candidate, else protected's.
            victim = next(iter(probation)) if probation else None
            if victim is not None and victim == candidate:
                victim = None
            victim_on_probation = victim is not None
            if victim is None and protected:
                victim = next(iter(protected))
            if victim is None:
                if candidate is None:  # only the window is left: a last resort
                    key, packed = window.popitem(last=False)
                    self._window_bytes -= packed >> _SIZE_SHIFT
                    self._bytes -= packed >> _SIZE_SHIFT
                    self._count -= 1
                    evicted.append(key)
                    continue
                loser, victim_loses = candidate, False
            elif candidate is None:
                loser, victim_loses = victim, True
            else:
                candidate_frequency = frequency(probation[candidate] & _DIGEST)
                victim_segment = probation if victim_on_probation else protected
                victim_loses = candidate_frequency > frequency(
                    victim_segment[victim] & _DIGEST
                ) or (candidate_frequency >= WARM_CANDIDATE and self._random() < RANDOM_ADMISSION)
                loser = victim if victim_loses else candidate
            if victim_loses and not victim_on_probation:
                size = protected.pop(loser) >> _SIZE_SHIFT
                self._protected_bytes -= size
            else:
                size = probation.pop(loser) >> _SIZE_SHIFT
                self._probation_bytes -= size
            if not victim_loses:
                first += 1
            self._bytes -= size
            self._count -= 1
            evicted.append(loser)
        return evicted

    def remove(self, key: K) -> None:
        if key in self._protected:
            size = self._protected.pop(key) >> _SIZE_SHIFT
            self._protected_bytes -= size
        elif key in self._window:
            size = self._window.pop(key) >> _SIZE_SHIFT
            self._window_bytes -= size
        else:
            size = self._probation.pop(key) >> _SIZE_SHIFT
            self._probation_bytes -= size
        self._bytes -= size
        self._count -= 1

    def clear(self) -> None:
        self._window.clear()
        self._probation.clear()
        self._protected.clear()
        self._window_bytes = self._probation_bytes = self._protected_bytes = self._bytes = 0
        self._count = 0

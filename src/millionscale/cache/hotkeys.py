"""Hot keys: which keys take a large share of this process's reads, lately.

A key read by everyone (a celebrity's profile, the front page) lands on one
Redis server, one connection's worth of CPU, however many servers the tier
has. The answer is to keep short-lived copies of exactly those keys in every
web server's L1, which needs to know which keys they are, cheaply, without a
counter per key.

Each read is counted in a *frequent items* sketch (Apache DataSketches'
``frequent_strings_sketch``: the Misra-Gries family with the error bounds of
Anderson et al., "A High-Performance Algorithm for Identifying Frequent
Items in Data Streams", IMC 2017), which keeps at most 3/4 of ``2**lg_max_k``
counters and estimates any item's count within ``epsilon * total`` reads
(``epsilon`` = 3.5 / 2**lg_max_k: 0.34 % for the default 1024).

The window slides by slices: ``window_s`` is cut into ``slices`` sketches;
when the current slice ends, the oldest is dropped and the hot set is
recomputed from the merged completed slices. A key is hot when its count in
the window is, with no false positive, at least

    max(share * reads in the window, min_rate * seconds the window covers)

so "hot" means "a large share of the reads" (default 1 %) *and* "read often
in absolute terms" (default 5 reads/s): on an idle server, nothing is hot.
A key becomes hot at most one slice after its share rose, and stops being
hot at most ``window_s`` after it fell. Each web server counts its own reads;
behind a balancer that spreads requests evenly the same keys are hot
everywhere, so every server keeps its own copy with no coordination.

Pure but for the sketch (a deterministic C++ library): time comes from the
injected clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import datasketches  # type: ignore[import-untyped]

__all__ = [
    "HOT_MIN_RATE",
    "HOT_SHARE",
    "HOT_SLICES",
    "HOT_WINDOW_S",
    "LG_MAX_K",
    "HotKeyStatistics",
    "HotKeys",
]

HOT_WINDOW_S = 10.0  # the reads that decide: the last 10 s
HOT_SLICES = 5  # the window moves by 2 s
HOT_SHARE = 0.01  # a hot key takes at least 1 % of the reads...
HOT_MIN_RATE = 5.0  # ...and at least 5 reads per second
LG_MAX_K = 10  # 1024-entry map, 768 counters: estimates within 0.34 % of the reads

_NO_FALSE_POSITIVES = datasketches.frequent_items_error_type.NO_FALSE_POSITIVES


@dataclass(frozen=True, slots=True)
class HotKeyStatistics:
    hot: int  # keys hot now
    window_reads: int  # reads counted in the completed slices of the window
    rotations: int  # slices completed


def _sketch(lg_max_k: int) -> Any:
    return datasketches.frequent_strings_sketch(lg_max_k)


class HotKeys:
    """Counts reads by key; :meth:`is_hot` says whether a key is a heavy hitter of the window."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        window_s: float = HOT_WINDOW_S,
        slices: int = HOT_SLICES,
        share: float = HOT_SHARE,
        min_rate: float = HOT_MIN_RATE,
        lg_max_k: int = LG_MAX_K,
    ) -> None:
        if not (window_s > 0 and math.isfinite(window_s)) or slices < 1:
            raise ValueError("window_s must be positive and finite, and slices at least 1")
        if not 0 < share <= 1 or min_rate < 0:
            raise ValueError("share must be in (0, 1] and min_rate at least 0")
        if not 3 <= lg_max_k <= 21:
            raise ValueError(f"lg_max_k must be in [3, 21], not {lg_max_k}")
        self._clock = clock
        self._slice_s = window_s / slices
        self._share = share
        self._min_rate = min_rate
        self._lg_max_k = lg_max_k
        self._done: deque[Any] = deque(maxlen=slices)
        self._current = _sketch(lg_max_k)
        self._current_end = clock() + self._slice_s
        self._hot: frozenset[str] = frozenset()
        self._window_reads = 0
        self._rotations = 0

    def record(self, key: str) -> None:
        """Count one read of ``key``."""
        now = self._clock()
        if now >= self._current_end:
            self._rotate(now)
        self._current.update(key)

    def is_hot(self, key: str) -> bool:
        """Whether ``key`` was hot as of the last :meth:`record` (the read path's question)."""
        return key in self._hot

    @property
    def hot(self) -> frozenset[str]:
        """The keys hot now."""
        now = self._clock()
        if now >= self._current_end:
            self._rotate(now)
        return self._hot

    def estimate(self, key: str) -> int:
        """Reads of ``key`` counted in the window's completed slices (an upper bound)."""
        return int(sum(done.get_upper_bound(key) for done in self._done))

    def statistics(self) -> HotKeyStatistics:
        return HotKeyStatistics(len(self._hot), self._window_reads, self._rotations)

    def _rotate(self, now: float) -> None:
        done = self._done
        done.append(self._current)
        self._rotations += 1
        missed = min(int((now - self._current_end) // self._slice_s), done.maxlen or 0)
        for _ in range(missed):  # slices nobody read in: empty
            done.append(_sketch(self._lg_max_k))
        self._current = _sketch(self._lg_max_k)
        self._current_end = now + self._slice_s - (now - self._current_end) % self._slice_s
        merged = _sketch(self._lg_max_k)
        for sketch in done:
            merged.merge(sketch)
        total = int(merged.total_weight)
        self._window_reads = total
        covered_s = len(done) * self._slice_s
        threshold = max(self._share * total, self._min_rate * covered_s, 1.0)
        self._hot = frozenset(
            item
            for item, _, lower, _ in merged.get_frequent_items(_NO_FALSE_POSITIVES)
            if lower >= threshold
        )

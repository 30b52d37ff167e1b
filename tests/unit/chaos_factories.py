"""Strategies and factories for the fault proxy's unit tests."""

from __future__ import annotations

import random

from hypothesis import settings
from hypothesis import strategies as st

from millionscale.chaos import MIN_BURST_BYTES, DelayLine, Jitter, Link, Piece

# Property tests over whole schedules: no per-example deadline (a loaded CI machine
# must not fail them on time); their size is bounded by the strategies instead.
schedule_settings = settings(deadline=None)

seconds = st.floats(0, 1, allow_nan=False, allow_infinity=False)

links = st.builds(
    Link,
    latency_s=seconds,
    jitter_s=st.floats(0, 0.5, allow_nan=False),
    jitter=st.sampled_from(list(Jitter)),
    bytes_per_s=st.none() | st.floats(1, 1e7, allow_nan=False),
    burst_bytes=st.none() | st.integers(MIN_BURST_BYTES, 100_000),
    stall_probability=st.floats(0, 1, allow_nan=False),
    stall_s=seconds,
)

# (seconds since the previous read, bytes read): what a socket hands a direction
schedules = st.lists(
    st.tuples(st.floats(0, 0.5, allow_nan=False), st.integers(1, 100_000)),
    min_size=1,
    max_size=40,
)


def line(link: Link, *, seed: int = 0, now: float = 1000.0) -> DelayLine:
    return DelayLine(link, rng=random.Random(seed), now=now)


def run(line: DelayLine, schedule: list[tuple[float, int]], start: float = 1000.0):
    """Feed ``schedule`` to ``line``; yields (read time, size, pieces) per chunk."""
    now = start
    out: list[tuple[float, int, list[Piece]]] = []
    for gap, size in schedule:
        now += gap
        out.append((now, size, line.schedule(size, now)))
    return out


def over_rate(sends: list[tuple[float, int]], rate: float, burst: int) -> float:
    """How far the busiest window of ``sends`` ((time, bytes), in time order) goes past
    ``burst + rate * window``; at most 0 when the cap held.

    For every pair i <= j the window [t_i, t_j] holds S_j - S_(i-1) bytes (S: running
    sums); the worst j for each i comes from a suffix maximum of S_j - rate * t_j.
    """
    totals, running = [], 0
    for _, size in sends:
        running += size
        totals.append(running)
    worst, best_after = float("-inf"), float("-inf")
    for i in range(len(sends) - 1, -1, -1):
        at, size = sends[i]
        best_after = max(best_after, totals[i] - rate * at)
        before = totals[i] - size
        excess = best_after - before + rate * at - burst
        worst = max(worst, excess - 1e-9 * (burst + totals[-1]))
    return worst

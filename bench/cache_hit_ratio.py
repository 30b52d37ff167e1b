"""Hit ratio at equal capacity: our L1 policies beside cachetools and Belady's optimum.

Every cache sees the same trace from empty and is driven as an application
drives it (``get``; on a miss, ``set``), with capacity counted in entries
(each entry charged 1 byte against an unbounded byte bound, so the entry
bound alone binds). The hit ratio counts every request, the cold start
included, for every column alike.

- **ours**: :class:`millionscale.cache.L1Cache` with ``lru``, ``lfu`` (with
  aging) and ``w-tinylfu``;
- **cachetools**: ``LRUCache`` and ``LFUCache`` (no aging);
- **Belady**: the optimum (MIN) computed offline on the same trace, the
  ceiling (:func:`millionscale.cache.belady_hits`).

Workloads, over a universe of ``--universe`` keys (100,000), ``--requests``
requests each (1,000,000), seeds fixed:

- ``zipf a``: independent draws from a Zipf law of exponent ``a`` over the
  universe (rank ``r`` has probability proportional to ``r ** -a``), ranks
  mapped to keys by a fixed random permutation;
- ``zipf 0.9 + scans``: runs of 80,000 Zipf requests interleaved with scans
  of 20,000 keys never seen before or after (a batch job or a crawler
  reading everything once: recency-only policies let it flush their cache);
- ``zipf 0.9 + loops``: runs of 20,000 Zipf requests interleaved with passes
  over the same 5,000 keys in the same order (a periodic job over a fixed
  set: LRU, which keeps a key only while it is recent, loses every pass
  once the loop and the Zipf keys between two passes outgrow the cache).

Capacities are ``--capacities`` percent of the universe (1 % and 10 %).

    .venv/bin/python bench/cache_hit_ratio.py [--requests 1000000] [--universe 100000]
        [--capacities 1 10] [--json bench/results/cache_hit_ratio.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import cachetools
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from millionscale.bench.provenance import at_least, provenance
from millionscale.cache import MISS, L1Cache, belady_hits

ALPHAS = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2)
MIXED_ALPHA = 0.9
ZIPF_RUN = 80_000  # Zipf requests between two scans
SCAN_LENGTH = 20_000  # keys per scan: twice the larger cache
LOOP_ZIPF_RUN = 20_000  # Zipf requests between two passes of the loop
LOOP_LENGTH = 5_000  # keys in the loop: between the two caches' sizes
SEED = 20_240_607
COLUMNS = ("lru", "lfu", "w-tinylfu", "cachetools LRU", "cachetools LFU", "Belady (MIN)")
UNBOUNDED = 1 << 62
console = Console()


# -- workloads --------------------------------------------------------------------------------


def _zipf_sampler(universe: int, alpha: float, seed: int) -> Callable[[int], list[int]]:
    """Draws of keys whose popularity ranks follow Zipf's law of exponent ``alpha``."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, universe + 1, dtype=np.float64) ** alpha
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    keys = rng.permutation(universe)  # rank -> key: popularity unrelated to key order

    def draw(count: int) -> list[int]:
        ranks = np.searchsorted(cdf, rng.random(count), side="right")
        return [int(key) for key in keys[np.minimum(ranks, universe - 1)]]

    return draw


def zipf(universe: int, requests: int, alpha: float, seed: int) -> list[int]:
    return _zipf_sampler(universe, alpha, seed)(requests)


def zipf_with_scans(universe: int, requests: int, seed: int, *, loop: bool) -> list[int]:
    """Zipf runs interleaved with scans of fresh keys, or with passes over one loop of keys."""
    draw = _zipf_sampler(universe, MIXED_ALPHA, seed)
    run, length = (LOOP_ZIPF_RUN, LOOP_LENGTH) if loop else (ZIPF_RUN, SCAN_LENGTH)
    trace: list[int] = []
    fresh = universe  # scanned keys lie outside the Zipf universe
    while len(trace) < requests:
        trace += draw(run)
        trace += range(fresh, fresh + length)
        if not loop:
            fresh += length
    return trace[:requests]


def workloads(universe: int, requests: int) -> list[tuple[str, Callable[[], list[int]]]]:
    made: list[tuple[str, Callable[[], list[int]]]] = [
        (f"zipf {alpha}", functools.partial(zipf, universe, requests, alpha, SEED))
        for alpha in ALPHAS
    ]
    for loop, kind in ((False, "scans"), (True, "loops")):
        made.append(
            (
                f"zipf {MIXED_ALPHA} + {kind}",
                functools.partial(zipf_with_scans, universe, requests, SEED, loop=loop),
            )
        )
    return made


# -- caches -----------------------------------------------------------------------------------


def ours(policy: str) -> Callable[[list[int], int], int]:
    def hits(trace: list[int], capacity: int) -> int:
        cache: L1Cache[Hashable, int] = L1Cache(
            max_entries=capacity,
            max_bytes=UNBOUNDED,
            policy=policy,
            random=random.Random(SEED).random,
        )
        get = cache.get
        set_ = cache.set
        for key in trace:
            if get(key) is MISS:
                set_(key, key, size=1)
        return cache.statistics().hits

    return hits


def peer(kind: type[cachetools.Cache[int, int]]) -> Callable[[list[int], int], int]:
    def hits(trace: list[int], capacity: int) -> int:
        cache = kind(maxsize=capacity)
        get = cache.get
        count = 0
        for key in trace:
            if get(key, MISS) is MISS:
                cache[key] = key
            else:
                count += 1
        return count

    return hits


def optimal(trace: list[int], capacity: int) -> int:
    return belady_hits(trace, capacity)


RUNNERS: dict[str, Callable[[list[int], int], int]] = {
    "lru": ours("lru"),
    "lfu": ours("lfu"),
    "w-tinylfu": ours("w-tinylfu"),
    "cachetools LRU": peer(cachetools.LRUCache),
    "cachetools LFU": peer(cachetools.LFUCache),
    "Belady (MIN)": optimal,
}


# -- the run ----------------------------------------------------------------------------------


def markdown(rows: list[dict[str, Any]], universe: int, requests: int) -> str:
    """One table: a row per workload and capacity, a column per cache; the best real one bold."""
    header = ["workload", "capacity", *COLUMNS]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---:"] + ["---:"] * len(COLUMNS)) + "|",
    ]
    for row in rows:
        ratios = row["hit_ratio"]
        best = max(ratios[column] for column in COLUMNS[:-1])
        cells = []
        for column in COLUMNS:
            text = f"{100 * ratios[column]:.2f} %"
            cells.append(
                f"**{text}**" if column != COLUMNS[-1] and ratios[column] == best else text
            )
        capacity = f"{row['capacity']:,} ({100 * row['capacity'] / universe:g} %)"
        lines.append("| " + " | ".join([row["workload"], capacity, *cells]) + " |")
    lines.append("")
    lines.append(
        f"Hit ratio over {requests:,} requests from a cold start, keys from a universe of "
        f"{universe:,}; capacity in entries; the best of the real caches in bold."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=at_least(1), default=1_000_000)
    parser.add_argument("--universe", type=at_least(1), default=100_000)
    parser.add_argument("--capacities", type=at_least(0.001, float), nargs="+", default=[1.0, 10.0])
    parser.add_argument("--json", type=Path, default=Path("bench/results/cache_hit_ratio.json"))
    args = parser.parse_args()

    capacities = [max(1, round(args.universe * percent / 100)) for percent in args.capacities]
    made = workloads(args.universe, args.requests)
    rows: list[dict[str, Any]] = []
    seconds: dict[str, float] = dict.fromkeys(COLUMNS, 0.0)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("hit ratio", total=len(made) * len(capacities) * len(COLUMNS))
        for name, make in made:
            trace = make()
            for capacity in capacities:
                ratios: dict[str, float] = {}
                for column in COLUMNS:
                    progress.update(task, description=f"{name}, {capacity:,} entries: {column}")
                    began = time.perf_counter()
                    ratios[column] = RUNNERS[column](trace, capacity) / len(trace)
                    seconds[column] += time.perf_counter() - began
                    progress.advance(task)
                rows.append({"workload": name, "capacity": capacity, "hit_ratio": ratios})

    table = markdown(rows, args.universe, args.requests)
    console.print(table, markup=False, highlight=False, soft_wrap=True)
    console.print(f"\n{time.perf_counter() - started:.0f} s in all", markup=False)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                **provenance(),
                "cachetools": cachetools.__version__,
                "settings": {
                    "universe": args.universe,
                    "requests": args.requests,
                    "capacities": capacities,
                    "seed": SEED,
                    "zipf_run": ZIPF_RUN,
                    "scan_length": SCAN_LENGTH,
                    "loop_zipf_run": LOOP_ZIPF_RUN,
                    "loop_length": LOOP_LENGTH,
                },
                "rows": rows,
                "simulation_seconds": seconds,
                "markdown": table,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {args.json}", markup=False)


if __name__ == "__main__":
    main()

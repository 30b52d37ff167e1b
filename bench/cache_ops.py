"""L1 operations per second: our cache under each policy beside cachetools, in the same run.

Three workloads, each ``--requests`` requests (200,000) on a cache of
``--capacity`` entries (10,000), keys drawn up front so that only the cache
is timed:

- **hit-heavy**: the cache holds every key asked for; each request is one
  ``get`` that hits (keys drawn from a Zipf law of exponent 0.9 over the
  cached keys);
- **miss-heavy**: every key is new; each request is a ``get`` that misses
  and the ``set`` that follows it, which evicts;
- **read-through, zipf 0.9**: ``get``, and ``set`` on a miss, over a
  universe ten times the cache (the hit-ratio bench's ``zipf 0.9`` at 10 %).

Our cache is :class:`millionscale.cache.L1Cache` (``lru``, ``lfu``,
``w-tinylfu``), called as its users call it (``get(key)``, ``set(key,
value)`` with the default size estimate, under a byte bound that does not
bind), which also keeps statistics, byte accounting and expiry checks;
cachetools' ``LRUCache`` and ``LFUCache`` are the peers, called through
``get(key, default)`` and ``cache[key] = value``. Each round times
every cache once, in an order rotated per round so none always runs first;
the figure is the median over ``--rounds`` rounds (5), in requests per
second of CPU time (``time.process_time``, less disturbed by other
processes on a shared machine than wall time), and the ratios are ours over
cachetools' (LRU over LRU, LFU over LFU, W-TinyLFU over LRU).

    .venv/bin/python bench/cache_ops.py [--requests 200000] [--capacity 10000]
        [--rounds 5] [--json bench/results/cache_ops.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import cachetools
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench.provenance import at_least, provenance
from millionscale.cache import MISS, L1Cache

SEED = 20_240_607
ALPHA = 0.9
UNBOUNDED = 1 << 62
CACHES = ("lru", "lfu", "w-tinylfu", "cachetools LRU", "cachetools LFU")
RATIOS = (
    ("lru", "cachetools LRU"),
    ("lfu", "cachetools LFU"),
    ("w-tinylfu", "cachetools LRU"),
)
console = Console(width=max(Console().width, 150))

Cache = L1Cache[Hashable, int] | cachetools.Cache[int, int]


def _zipf_ranks(count: int, universe: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, universe + 1, dtype=np.float64) ** ALPHA)
    cdf /= cdf[-1]
    ranks = np.minimum(np.searchsorted(cdf, rng.random(count), side="right"), universe - 1)
    keys = rng.permutation(universe)
    return [int(key) for key in keys[ranks]]


def make(name: str, capacity: int) -> Cache:
    """A fresh cache; ours charges entries by the default estimate, against no byte bound."""
    if name == "cachetools LRU":
        return cachetools.LRUCache(maxsize=capacity)
    if name == "cachetools LFU":
        return cachetools.LFUCache(maxsize=capacity)
    return L1Cache(
        max_entries=capacity,
        max_bytes=UNBOUNDED,
        policy=name,
        random=random.Random(SEED).random,
    )


def serve(cache: Cache, trace: list[int], read_through: bool) -> int:
    """Hits over ``trace``: ``get`` each key, and ``set`` it on a miss if ``read_through``.

    The same loop for both kinds of cache, each called the way its users
    call it: ``L1Cache.get(key)`` against ``MISS``; ``Cache.get(key,
    default)`` and ``cache[key] = value``.
    """
    hits = 0
    if isinstance(cache, L1Cache):
        get = cache.get
        put = cache.set
        if read_through:
            for key in trace:
                if get(key) is MISS:
                    put(key, key)
                else:
                    hits += 1
        else:
            for key in trace:
                if get(key) is not MISS:
                    hits += 1
        return hits
    peer_get = cache.get
    peer_put = cache.__setitem__
    if read_through:
        for key in trace:
            if peer_get(key, MISS) is MISS:
                peer_put(key, key)
            else:
                hits += 1
    else:
        for key in trace:
            if peer_get(key, MISS) is not MISS:
                hits += 1
    return hits


def hit_heavy(capacity: int, requests: int) -> tuple[range, list[int], bool]:
    return range(capacity), _zipf_ranks(requests, capacity, SEED), False


def miss_heavy(capacity: int, requests: int) -> tuple[range, list[int], bool]:
    return range(capacity), list(range(capacity, capacity + requests)), True  # all new


def read_through(capacity: int, requests: int) -> tuple[range, list[int], bool]:
    return range(0), _zipf_ranks(requests, 10 * capacity, SEED), True


WORKLOADS = {
    "hit-heavy": hit_heavy,
    "miss-heavy": miss_heavy,
    f"read-through, zipf {ALPHA}": read_through,
}


def timed(name: str, workload: str, capacity: int, requests: int) -> float:
    """Requests per CPU second of one fresh cache on one workload."""
    prefill, trace, read_through = WORKLOADS[workload](capacity, requests)
    cache = make(name, capacity)
    serve(cache, list(prefill), True)
    if workload == "hit-heavy" and serve(cache, list(prefill), False) != capacity:
        raise AssertionError(f"{name} does not hold all {capacity} keys it was given")
    gc.collect()
    gc.disable()
    try:
        began = time.process_time()
        serve(cache, trace, read_through)
        elapsed = time.process_time() - began
    finally:
        gc.enable()
    return requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=at_least(1), default=200_000)
    parser.add_argument("--capacity", type=at_least(1), default=10_000)
    parser.add_argument("--rounds", type=at_least(1), default=5)
    parser.add_argument("--json", type=Path, default=Path("bench/results/cache_ops.json"))
    args = parser.parse_args()

    samples: dict[str, dict[str, list[float]]] = {
        workload: {name: [] for name in CACHES} for workload in WORKLOADS
    }
    with Progress(console=console) as progress:
        task = progress.add_task("ops/s", total=args.rounds * len(WORKLOADS) * len(CACHES))
        for round_ in range(args.rounds):
            order = CACHES[round_ % len(CACHES) :] + CACHES[: round_ % len(CACHES)]
            for workload in WORKLOADS:
                for name in order:
                    rate = timed(name, workload, args.capacity, args.requests)
                    samples[workload][name].append(rate)
                    progress.advance(task)

    medians = {
        workload: {name: statistics.median(rates) for name, rates in by_cache.items()}
        for workload, by_cache in samples.items()
    }
    ratios = {
        workload: {f"{ours} / {peer}": rates[ours] / rates[peer] for ours, peer in RATIOS}
        for workload, rates in medians.items()
    }

    table = Table(title=f"requests per CPU second, median of {args.rounds} rounds")
    table.add_column("workload")
    for name in CACHES:
        table.add_column(name, justify="right")
    for ours, peer in RATIOS:
        table.add_column(f"{ours} / {peer}", justify="right")
    for workload, rates in medians.items():
        table.add_row(
            workload,
            *(f"{rates[name]:,.0f}" for name in CACHES),
            *(f"{ratios[workload][f'{ours} / {peer}']:.2f}x" for ours, peer in RATIOS),
        )
    console.print(table)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        **provenance(),
        "cachetools": cachetools.__version__,
        "settings": {
            "requests": args.requests,
            "capacity": args.capacity,
            "rounds": args.rounds,
            "seed": SEED,
            "clock": "process_time",
        },
        "requests_per_second": medians,
        "ratios": ratios,
        "samples": samples,
    }
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"written to {args.json}", markup=False)


if __name__ == "__main__":
    main()

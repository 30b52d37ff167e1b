"""What a read costs through each tier, beside a bare redis-py GET of the same JSON.

One process, one asyncio task, sequential reads of one 200-byte JSON value
(a profile), after warm-up:

- ``l1 hit``: ``get_or_load`` answered by the in-process L1 (JSON decoded per read);
- ``l2 hit``: ``get_or_load`` answered by Redis (L1 off): the read script (value,
  PTTL, generation check) plus the envelope and JSON;
- ``bare GET``: redis-py ``GET`` and ``json.loads``, no cache logic: the peer,
  what a hand-written cache-aside read costs;
- ``miss + load``: a miss under the lease, a loader that returns at once,
  the set script (each read invalidates first, so every read misses).

``--runs`` times (1 by default), each on a fresh Redis; each row's figures
are the median over the runs, and the JSON keeps every run with the run count
and the command line, date and machine that wrote it.

    .venv/bin/python bench/cache_tiers.py [--runs 1] [--reads 20000] [--json bench/results/cache_tiers.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from rich.console import Console
from rich.table import Table

from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.cache import CacheSettings, TieredCache
from millionscale.servers import start_server

VALUE = {"id": 42, "name": "Ada Lovelace", "bio": "x" * 120, "followers": 1815, "verified": True}
console = Console()


async def timed(reads: int, read: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    for _ in range(min(1000, reads)):
        await read()
    started = time.perf_counter()
    for _ in range(reads):
        await read()
    elapsed = time.perf_counter() - started
    return {"reads_per_s": reads / elapsed, "us_per_read": elapsed / reads * 1e6}


async def main(reads: int) -> dict[str, Any]:
    async def load() -> dict[str, Any]:
        return VALUE

    with start_server("redis") as server:
        results: dict[str, Any] = {}
        l1 = TieredCache(server.url, name="bench-l1", settings=CacheSettings(l1_admission="all"))
        l2 = TieredCache(server.url, name="bench-l2", settings=CacheSettings(l1_admission="none"))
        async with l1, l2:
            await l1.wait_subscribed(5.0)
            await l1.get_or_load("profile:42", load)
            await l1.get_or_load("profile:42", load)  # from L2, into L1
            results["l1 hit"] = await timed(reads, lambda: l1.get_or_load("profile:42", load))
            await l2.get_or_load("profile:42", load)
            results["l2 hit"] = await timed(reads, lambda: l2.get_or_load("profile:42", load))

            async def miss() -> Any:
                await l2.invalidate("fresh")
                return await l2.get_or_load("fresh", load)

            results["invalidate + miss + load"] = await timed(reads // 4, miss)
            l1_stats = l1.statistics()
            assert l1_stats.l1.hits >= reads, "the L1 row was not served by L1"
        client = aioredis.Redis.from_url(server.url)
        await client.set("bare:profile:42", json.dumps(VALUE))

        async def bare() -> Any:
            raw = await client.get("bare:profile:42")
            assert raw is not None
            return json.loads(raw)

        results["bare GET"] = await timed(reads, bare)
        await client.aclose()
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=at_least(1), default=1)
    parser.add_argument("--reads", type=at_least(4), default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    written_by = provenance()
    runs = [asyncio.run(main(args.reads)) for _ in range(args.runs)]
    results: dict[str, Any] = {
        name: {
            key: statistics.median(run[name][key] for run in runs)
            for key in ("reads_per_s", "us_per_read")
        }
        for name in runs[0]
    }
    for name in results:
        results[name]["us_per_read_over_runs"] = over_runs([r[name]["us_per_read"] for r in runs])
    table = Table(title=f"one read, one task, sequential (median of {args.runs})")
    for column in ("path", "reads/s", "us/read", "vs bare GET"):
        table.add_column(column, justify="right")
    bare = results["bare GET"]["us_per_read"]
    for name in ("l1 hit", "l2 hit", "bare GET", "invalidate + miss + load"):
        row = results[name]
        table.add_row(
            name,
            f"{row['reads_per_s']:,.0f}",
            f"{row['us_per_read']:.1f}",
            f"{row['us_per_read'] / bare:.2f}x",
        )
    console.print(table)
    if args.json:
        document = {"benchmark": "cache_tiers", **written_by, "runs": args.runs, **results}
        args.json.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    cli()

"""How long a read can still return the old value after ``invalidate()`` returns: measured.

A writer process updates a row (the source of truth: a Redis key the
loaders read directly) and calls ``invalidate()`` on the tiered cache; N
reader processes poll the row through their own tiered cache (L1 admitting
every key, so the old value sits in every L1 when the write happens) every
``--poll-ms``. For each write, the staleness is the time from
``invalidate()`` returning to the *start* of the last read, in any reader,
that still returned the old value (0 if none did): a read that began before
``invalidate()`` returned may return either.

Two scenarios:

- ``normal``: everything healthy; the bound is the pub/sub delivery time;
- ``stalled``: the readers reach Redis through a fault proxy that is frozen
  (nothing closed, nothing delivered) just before each write, so the
  invalidation message does not arrive; the bound is the subscription's
  detection time, ``ping_interval_s + pong_timeout_s`` (the loaders read the
  truth directly, so once L1 is dropped the readers see the new value).

Times are CLOCK_MONOTONIC, which Linux shares between processes.

    .venv/bin/python bench/cache_staleness.py [--readers 4] [--trials 200]
        [--stalled-trials 8] [--json bench/results/cache_staleness.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from rich.console import Console
from rich.table import Table

from millionscale.bench.provenance import at_least, provenance
from millionscale.cache import CacheSettings, TieredCache
from millionscale.chaos import FaultProxy, Partition
from millionscale.servers import start_server

KEY = "row:1"
CACHE = "staleness"
console = Console()


# -- a reader process -------------------------------------------------------------------


async def reader(spec: dict[str, Any]) -> dict[str, Any]:
    """Poll the row until told to stop; the start time of the last read of each version."""
    run, me = spec["run"], spec["id"]
    truth = aioredis.Redis.from_url(spec["truth_url"])
    settings = CacheSettings(l1_admission="all", **spec["settings"])
    cache = TieredCache(spec["cache_url"], name=spec["name"], settings=settings)
    last_start: dict[int, float] = {}
    reads = errors = 0
    stop = asyncio.Event()
    deadline = time.monotonic() + spec["deadline_s"]

    async def load() -> dict[str, int]:
        return {"version": int(await truth.get(f"{run}:truth") or 0)}

    async def watch() -> None:
        while time.monotonic() < deadline and not await truth.exists(f"{run}:stop"):
            await truth.hset(f"{run}:subscribed", me, int(cache.subscribed))
            await asyncio.sleep(0.02)
        stop.set()

    async with cache:
        await cache.wait_subscribed(10.0)
        await truth.incr(f"{run}:ready")
        watcher = asyncio.create_task(watch())
        poll_s = spec["poll_ms"] / 1000
        while not stop.is_set():
            started = time.monotonic()
            try:
                value = await cache.get_or_load(KEY, load)
                last_start[value["version"]] = started
                reads += 1
            except Exception:
                errors += 1
            await asyncio.sleep(poll_s)
        await watcher
        stats = cache.statistics()
    await truth.aclose()
    return {
        "last_start": last_start,
        "reads": reads,
        "errors": errors,
        "l1_hits": stats.l1.hits,
        "fenced": stats.fenced,
        "fall_throughs": stats.fall_throughs,
    }


# -- the writer, in this process ----------------------------------------------------------


def spawn_readers(count: int, spec: dict[str, Any]) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, __file__, "--reader", json.dumps({**spec, "id": str(i)})],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]


async def until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"cache_staleness: {what} not within {timeout_s} s")
        await asyncio.sleep(0.01)


async def scenario(
    name: str,
    url: str,
    *,
    readers: int,
    trials: int,
    poll_ms: float,
    settings: dict[str, Any],
    proxy: FaultProxy | None,
) -> dict[str, Any]:
    run = f"bench:{name}:{os.getpid()}"
    truth = aioredis.Redis.from_url(url)
    await truth.delete(f"{run}:truth", f"{run}:ready", f"{run}:stop", f"{run}:subscribed")
    cache_url = url if proxy is None else f"{url.rpartition('@')[0]}@{proxy.host}:{proxy.port}/0"
    spec = {
        "run": run,
        "name": f"{CACHE}-{name}",
        "truth_url": url,
        "cache_url": cache_url,
        "settings": settings,
        "poll_ms": poll_ms,
        "deadline_s": 600.0,
    }
    processes = spawn_readers(readers, spec)
    writer = TieredCache(url, name=f"{CACHE}-{name}", settings=CacheSettings(**settings))
    called: dict[int, float] = {}
    returned: dict[int, float] = {}
    invalidate_s: list[float] = []

    async def all_ready() -> bool:
        return int(await truth.get(f"{run}:ready") or 0) == readers

    async def all_subscribed() -> bool:
        states = await truth.hgetall(f"{run}:subscribed")
        return len(states) == readers and all(state == b"1" for state in states.values())

    try:
        async with writer:
            await until(all_ready, 120.0, "readers ready")
            await asyncio.sleep(0.2)  # every reader has the row in L1
            for version in range(1, trials + 1):
                if proxy is not None:
                    await until(all_subscribed, 20.0, "readers subscribed")
                    await asyncio.sleep(0.2)  # L1 refilled through the healed proxy
                    await proxy.partition(Partition())
                await truth.set(f"{run}:truth", version)  # the write commits
                called[version] = time.monotonic()
                applied = await writer.invalidate(KEY)
                returned[version] = time.monotonic()
                invalidate_s.append(returned[version] - called[version])
                if not applied:
                    raise SystemExit("cache_staleness: invalidate() could not reach Redis")
                if proxy is not None:
                    await asyncio.sleep(writer.settings.ping_interval_s * 2 + 0.5)
                    await proxy.heal()
                else:
                    await asyncio.sleep(0.03)  # readers reload and refill L1
            await truth.set(f"{run}:stop", 1)
        outputs = []
        for process in processes:
            out, _ = await asyncio.to_thread(process.communicate, timeout=60)
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
        await truth.aclose()

    per_trial, since_call = [], []
    for version in range(1, trials + 1):
        worst = worst_since_call = 0.0
        for out in outputs:
            old = out["last_start"].get(str(version - 1))
            if old is not None:
                worst = max(worst, old - returned[version])
                worst_since_call = max(worst_since_call, old - called[version])
        per_trial.append(worst)
        since_call.append(worst_since_call)
    ordered = sorted(per_trial)
    return {
        "readers": readers,
        "trials": trials,
        "poll_ms": poll_ms,
        "median_ms": statistics.median(per_trial) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        "max_ms": max(per_trial) * 1000,
        "trials_with_a_stale_read": sum(1 for s in per_trial if s > 0),
        "invalidate_median_ms": statistics.median(invalidate_s) * 1000,
        "invalidate_max_ms": max(invalidate_s) * 1000,
        # the same, from the moment invalidate() was called (the delivery time, seen from the writer)
        "since_call_median_ms": statistics.median(since_call) * 1000,
        "since_call_max_ms": max(since_call) * 1000,
        "reads": sum(out["reads"] for out in outputs),
        "read_errors": sum(out["errors"] for out in outputs),
        "l1_hits": sum(out["l1_hits"] for out in outputs),
        "fenced": sum(out["fenced"] for out in outputs),
        "fall_throughs": sum(out["fall_throughs"] for out in outputs),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    settings = {"ping_interval_s": args.ping_s, "pong_timeout_s": args.pong_s}
    with start_server("redis") as server:
        normal = await scenario(
            "normal",
            server.url,
            readers=args.readers,
            trials=args.trials,
            poll_ms=args.poll_ms,
            settings=settings,
            proxy=None,
        )
        async with FaultProxy((server.host, server.port), name="readers-to-redis") as proxy:
            stalled = await scenario(
                "stalled",
                server.url,
                readers=args.readers,
                trials=args.stalled_trials,
                poll_ms=args.poll_ms,
                settings=settings,
                proxy=proxy,
            )
    return {
        **provenance(),
        "bound_s": {
            "normal": "pub/sub delivery",
            "stalled": args.ping_s + args.pong_s,
            "l1_ttl_s": CacheSettings().l1_ttl_s,
        },
        "settings": settings,
        "normal": normal,
        "stalled": stalled,
    }


def report(results: dict[str, Any]) -> None:
    table = Table(title="staleness after invalidate() returns (ms; the last stale read's start)")
    for column in (
        "scenario",
        "readers",
        "trials",
        "median",
        "p99",
        "max",
        "trials stale",
        "bound",
    ):
        table.add_column(column, justify="right")
    bounds = {"normal": "delivery", "stalled": f"{results['bound_s']['stalled'] * 1000:.0f}"}
    for name in ("normal", "stalled"):
        row = results[name]
        table.add_row(
            name,
            str(row["readers"]),
            str(row["trials"]),
            f"{row['median_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['max_ms']:.2f}",
            str(row["trials_with_a_stale_read"]),
            bounds[name],
        )
    console.print(table)
    for name in ("normal", "stalled"):
        row = results[name]
        console.print(
            f"{name}: {row['reads']} reads, {row['read_errors']} errors, {row['l1_hits']} L1 hits, "
            f"{row['fenced']} fenced admissions, {row['fall_throughs']} fall-throughs; "
            f"invalidate() took {row['invalidate_median_ms']:.2f} ms (median), "
            f"{row['invalidate_max_ms']:.2f} ms (max); the last stale read began "
            f"{row['since_call_median_ms']:.2f} ms (median), {row['since_call_max_ms']:.2f} ms (max) "
            "after invalidate() was called"
        )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    parser.add_argument("--readers", type=at_least(1), default=4)
    parser.add_argument("--trials", type=at_least(1), default=200)
    parser.add_argument("--stalled-trials", type=at_least(0), default=8)
    parser.add_argument("--poll-ms", type=at_least(0.01, float), default=1.0)
    parser.add_argument("--ping-s", type=at_least(0.01, float), default=0.5)
    parser.add_argument("--pong-s", type=at_least(0.01, float), default=0.5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.reader:
        print(json.dumps(asyncio.run(reader(json.loads(args.reader)))), flush=True)
        return
    results = asyncio.run(main(args))
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    cli()

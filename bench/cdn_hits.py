"""Our CDN edge beside Varnish 7.1 and nginx 1.22: cache-hit throughput and latency.

One run, the same objects, the same load generator, the same core for every cache:

- **objects**: ``/c/1k/`` (1 KiB) and ``/c/64k/`` (64 KiB), ``Cache-Control:
  max-age=86400``, from a :class:`~millionscale.testing.ScriptedOrigin`; each is
  fetched through each cache before it is measured (warmed), and the origin's
  request count afterwards shows that the runs were hits (``origin_requests``);
- **caches**, each one process (nginx ``worker_processes 1``; varnishd's
  manager and cache child) on CPU 0: ``python -m millionscale.cdn`` with its
  defaults and ``--memory 256MiB``; Varnish with ``-s malloc,256m`` and the
  VCL of :mod:`millionscale.cdn.peers`; nginx ``proxy_cache`` as configured
  there (its cache is on disk, in the page cache after warming);
- **placement** (2 cores): the cache under test has CPU 0; wrk, the origin and
  this script share CPU 1. The busy share of CPU 0 during a run says whether
  the cache was the bottleneck (~100%) or wrk was (CPU 1 at 100%, CPU 0 not).

What is measured: wrk, closed loop, 1 thread, 50 connections, 10 s per run
(after a 2 s warm-up per cache and object), ``--rounds`` rounds (3) with the
order of caches rotated every round; per cache and object the median req/s
and wrk's p50 / p99 latency (at that saturating load: a closed-loop latency,
not an open-loop one) over the rounds, every run kept, and the ratio of ours to
Varnish's. Runs during which other processes used over 5% of a CPU are run
again (``--attempts``, after waiting ``--quiet-wait-s`` for a quiet second), as
in ``bench/lb_throughput.py``, whose structure and JSON shape this follows
(:mod:`millionscale.bench.wrk` is the harness both use).

    .venv/bin/python -m millionscale.servers.install --peers   # varnish, nginx, wrk
    .venv/bin/python bench/cdn_hits.py [--rounds 3] [--wrk-seconds 10]
        [--attempts 3] [--quiet-wait-s 120] [--json bench/results/cdn_hits.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import signal
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench import wrk as harness
from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.cdn.peers import Peer, start_edge, start_nginx_cache, start_varnish
from millionscale.errors import MillionscaleError
from millionscale.testing import Answer, ScriptedOrigin

CACHE_CPU = 0
REST_CPU = 1  # wrk, the origin, this script
WRK_THREADS = 1
WARMUP_S = 2
OBJECTS = {"1k": 1024, "64k": 65536}
LIFETIME = "max-age=86400"
OURS, VARNISH, NGINX = "ours", "Varnish 7.1", "nginx 1.22"
# How each cache is started: (origin host, origin port, work directory, cpus=...) -> Peer.
STARTERS: dict[str, Callable[..., Peer]] = {
    OURS: start_edge,
    VARNISH: start_varnish,
    NGINX: start_nginx_cache,
}


def origin_scripts() -> dict[str, tuple[Answer, ...]]:
    return {
        name: (Answer(headers=(("Cache-Control", LIFETIME),), body=b"x" * size),)
        for name, size in OBJECTS.items()
    }


def run_wrk(url: str, seconds: int) -> dict[str, Any]:
    """One wrk run: req/s, p50/p99 latency, errors, and how busy each CPU was meanwhile."""
    return harness.run_wrk(
        url,
        seconds,
        {"cache_cpu_busy": CACHE_CPU, "rest_cpu_busy": REST_CPU},
        threads=WRK_THREADS,
        latency=True,
    )


def warm(peer: Peer) -> None:
    """Each object fetched through ``peer`` twice: stored, then (we check) a hit of the whole body."""
    for name, size in OBJECTS.items():
        for _ in range(2):
            answer = httpx.get(f"{peer.url}/c/{name}/", timeout=5)
            if answer.status_code != 200 or len(answer.content) != size:
                raise SystemExit(f"{peer.name} answered {answer.status_code} for /c/{name}/")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=at_least(1), default=3)
    parser.add_argument("--wrk-seconds", type=at_least(1), default=10)
    harness.add_patience_flags(parser)
    parser.add_argument("--json", type=Path, default=Path("bench/results/cdn_hits.json"))
    return parser.parse_args(argv)


def main() -> None:
    args = parse_arguments()
    written_by = provenance()
    # SIGTERM unwinds like Ctrl-C, so that the caches started are stopped (by pid) on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    patience = harness.Patience.from_flags(args)
    console = Console() if sys.stdout.isatty() else Console(width=120)
    harness.pin_rest(REST_CPU, console.print)  # this script, the origin's thread and wrk: CPU 1

    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    origin_requests: dict[str, int] = {}
    skipped: dict[str, str] = {}
    commands: dict[str, list[str]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        ScriptedOrigin(origin_scripts()) as origin,
        Progress(console=console) as progress,
    ):
        say = progress.console.print
        peers: list[Peer] = []
        try:
            for name, start in STARTERS.items():
                try:
                    peer = start(
                        "127.0.0.1", origin.port, Path(tmp) / name.split()[0], cpus=[CACHE_CPU]
                    )
                    peers.append(peer)
                    peer.wait_ready()
                except MillionscaleError as error:
                    skipped[name] = error.one_line()
                    say(f"[yellow]{name} skipped: {skipped[name]}")
                    continue
                warm(peer)
                commands[name] = peer.argv
            ready = [p for p in peers if p.name in commands]
            fetched = {name: origin.count(name) for name in OBJECTS}
            runs = {p.name: {name: [] for name in OBJECTS} for p in ready}
            task = progress.add_task("hits (wrk)", total=len(ready) * len(OBJECTS) * args.rounds)
            for peer in ready:
                for name in OBJECTS:
                    run_wrk(f"{peer.url}/c/{name}/", WARMUP_S)
            for round_ in range(args.rounds):
                shift = round_ % len(ready)
                for peer in ready[shift:] + ready[:shift]:
                    for name in OBJECTS:
                        wrk = functools.partial(run_wrk, f"{peer.url}/c/{name}/", args.wrk_seconds)
                        run = harness.undisturbed(wrk, say, patience)
                        runs[peer.name][name].append(run)
                        say(
                            f"round {round_ + 1} {peer.name} {name}: {run['requests_per_s']:,.0f} req/s, "
                            f"p99 {run['p99_ms']:.2f} ms, CPU0 {run['cache_cpu_busy']:.0%}, "
                            f"CPU1 {run['rest_cpu_busy']:.0%}"
                            + (f", {run['errors']:.0f} ERRORS" if run["errors"] else "")
                        )
                        progress.advance(task)
            origin_requests = {name: origin.count(name) - fetched[name] for name in OBJECTS}
        finally:
            for peer in peers:
                peer.stop()

    over = {
        cache: {
            name: over_runs(harness.undisturbed_values(object_runs, "requests_per_s"))
            for name, object_runs in by_object.items()
        }
        for cache, by_object in runs.items()
    }
    medians: dict[str, dict[str, dict[str, float]]] = {
        cache: {
            name: {
                "requests_per_s": over[cache][name]["median"],
                "p50_ms": statistics.median(harness.undisturbed_values(object_runs, "p50_ms")),
                "p99_ms": statistics.median(harness.undisturbed_values(object_runs, "p99_ms")),
                "cache_cpu_busy": statistics.median(r["cache_cpu_busy"] for r in object_runs),
                "rest_cpu_busy": statistics.median(r["rest_cpu_busy"] for r in object_runs),
            }
            for name, object_runs in by_object.items()
        }
        for cache, by_object in runs.items()
    }
    ratio = {}
    if OURS in medians and VARNISH in medians:
        ratio = {
            name: medians[OURS][name]["requests_per_s"] / medians[VARNISH][name]["requests_per_s"]
            for name in OBJECTS
        }
    table = Table(
        title=f"cache hits on one core each (wrk -t{WRK_THREADS} -c{harness.WRK_CONNECTIONS} "
        f"-d{args.wrk_seconds}s, median of {args.rounds} rounds)",
        caption="CPU0: the cache's core; CPU1: wrk + origin. p50/p99: wrk's, at that load",
    )
    for column in ("cache", "object", "req/s", "runs", "p50", "p99", "CPU0", "CPU1", "vs Varnish"):
        table.add_column(column, justify="left" if column in ("cache", "object") else "right")
    for cache, by_object in medians.items():
        for name, figures in by_object.items():
            versus = ""
            if VARNISH in medians:
                versus = (
                    f"{figures['requests_per_s'] / medians[VARNISH][name]['requests_per_s']:.2f}x"
                )
            table.add_row(
                cache,
                name,
                f"{figures['requests_per_s']:,.0f}",
                str(over[cache][name]["run_count"]),
                f"{figures['p50_ms']:.2f} ms",
                f"{figures['p99_ms']:.2f} ms",
                f"{figures['cache_cpu_busy']:.0%}",
                f"{figures['rest_cpu_busy']:.0%}",
                versus,
            )
    console.print(table)
    console.print(f"origin requests during the runs (all should be hits): {origin_requests}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "cdn_hits",
                **written_by,
                "placement": {"cache_cpu": CACHE_CPU, "wrk_and_origin_cpu": REST_CPU},
                "wrk": {
                    "threads": WRK_THREADS,
                    "connections": harness.WRK_CONNECTIONS,
                    "seconds": args.wrk_seconds,
                    "rounds": args.rounds,
                },
                "objects_bytes": OBJECTS,
                "cache_commands": commands,
                "skipped": skipped,
                "median": medians,
                "requests_per_s_over_runs": over,
                "ratio_ours_to_varnish": ratio,
                "origin_requests_during_runs": origin_requests,
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {args.json}")


if __name__ == "__main__":
    main()

"""The cost of simulating a host: the same CPU-bound process on a 1.0-CPU host and unconfined.

A host is a cgroup with a CPU quota and a memory limit (millionscale.servers.cgroups).
On a host of one whole core, a single-threaded process should run as fast as it does
with no cgroup at all: what the quota costs is the kernel's accounting, and the
bench says how much that is. Each run times one fresh interpreter doing a fixed
amount of pure-Python work (``--work`` iterations of an integer loop), alternately
confined and unconfined so that the machine's own noise falls on both alike.
Reported: the median wall time of each over ``--runs`` runs, and their ratio
(confined over unconfined; 1.00 is free).

    .venv/bin/python bench/host_overhead.py [--runs 7] [--work 20000000]

Needs root and cgroups (the ones hosts need); refuses with one line otherwise.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import cast

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench.provenance import at_least, provenance
from millionscale.servers.cgroups import Cgroup, Limits, Version, detect
from millionscale.servers.process import spawn

MIB = 1024 * 1024
TIMEOUT_S = 300.0  # one run; a loop of 2e7 iterations takes a few seconds


def _argv(work: int) -> list[str]:
    loop = f"total = 0\nfor i in range({work}):\n    total += i * i\n"
    return [sys.executable, "-c", loop]


def _timed(argv: list[str], log: Path, group: Cgroup | None) -> float:
    started = time.perf_counter()
    child = spawn(argv, log_path=log, cgroup_procs=group.procs_files if group else ())
    code = child.wait(timeout=TIMEOUT_S)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"error: the timed process exited with {code}; see {log}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=at_least(3), default=7, help="runs of each (default 7)")
    parser.add_argument("--work", type=at_least(1), default=20_000_000, help="loop iterations")
    parser.add_argument("--json", type=Path, default=Path("bench/results/host_overhead.json"))
    args = parser.parse_args(argv)
    version = detect()
    if version not in ("v1", "v2"):
        print(f"error: hosts cannot be limited here: {version}", file=sys.stderr)
        return 2
    group = Cgroup(
        f"bench-{secrets.token_hex(4)}",
        Limits(cpus=1.0, memory_bytes=512 * MIB),
        version=cast(Version, version),
    )
    group.create()
    times: dict[str, list[float]] = {"unconfined": [], "1.0-CPU host": []}
    log = Path(f"/tmp/host-overhead-{secrets.token_hex(4)}.log")
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("timing", total=2 * args.runs)
            for _ in range(args.runs):
                times["unconfined"].append(_timed(_argv(args.work), log, None))
                progress.advance(task)
                times["1.0-CPU host"].append(_timed(_argv(args.work), log, group))
                progress.advance(task)
    finally:
        group.remove()
        log.unlink(missing_ok=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["1.0-CPU host"] / medians["unconfined"]
    table = Table(title=f"{args.work:,} iterations, {args.runs} runs each (cgroups {version})")
    for column in ("", "median s", "min s", "max s"):
        table.add_column(column, justify="right" if column else "left")
    for name, values in times.items():
        table.add_row(name, f"{medians[name]:.3f}", f"{min(values):.3f}", f"{max(values):.3f}")
    console = Console()
    console.print(table)
    console.print(f"confined / unconfined: {ratio:.3f} (median over median)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "host_overhead",
                **provenance(),
                "cgroup_version": version,
                "work": args.work,
                "runs": args.runs,
                "seconds": times,
                "median_s": medians,
                "ratio_confined_over_unconfined": ratio,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

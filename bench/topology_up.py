"""How long `millionscale up --detach` takes to bring PostgreSQL, Redis and NATS to ready.

Side by side in one run:

- ``up (fresh)``: a new state directory each time, so PostgreSQL's initdb is
  included: what a first `up` costs;
- ``up (warm)``: `up` again on the state directory of the previous run, data
  directories already made: what a restart of the topology costs;
- ``engines direct``: the same three engines started one after the other with
  ``millionscale.servers.start_server`` (no CLI, no supervisor): the floor.

The ratio up/direct is the price of the CLI and the supervisor (a fresh
interpreter, resolution, dependency waits, state publication).

    .venv/bin/python bench/topology_up.py [--runs 7] [--json bench/results/topology_up.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench.provenance import at_least, provenance
from millionscale.servers import start_server

TOPOLOGY = """
[topology]
name = "engines"

[processes.db]
tier = "db"
engine = "postgres"

[processes.cache]
tier = "cache"
engine = "redis"
durable = false

[processes.broker]
tier = "queue"
engine = "nats"
"""


def _cli(workdir: Path, *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "millionscale.cli", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"millionscale {' '.join(args)} failed: {result.stderr}")
    return elapsed


def _direct() -> float:
    started = time.perf_counter()
    servers = [start_server(name, durable=True) for name in ("postgres", "redis", "nats")]
    elapsed = time.perf_counter() - started
    for server in servers:
        server.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=at_least(1), default=7)
    parser.add_argument("--json", type=Path, default=Path("bench/results/topology_up.json"))
    args = parser.parse_args()

    samples: dict[str, list[float]] = {"up (fresh)": [], "up (warm)": [], "engines direct": []}
    with tempfile.TemporaryDirectory() as tmp, Progress() as progress:
        task = progress.add_task("measuring", total=args.runs)
        for run in range(args.runs):
            workdir = Path(tmp) / f"run-{run}"
            workdir.mkdir()
            (workdir / "t.toml").write_text(TOPOLOGY)
            samples["up (fresh)"].append(_cli(workdir, "up", "t.toml", "--detach"))
            _cli(workdir, "down")
            samples["up (warm)"].append(_cli(workdir, "up", "t.toml", "--detach"))
            _cli(workdir, "down")
            samples["engines direct"].append(_direct())
            progress.advance(task)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    table = Table(title=f"time to all-ready, PostgreSQL + Redis + NATS, median of {args.runs}")
    table.add_column("how")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    table.add_column("max s", justify="right")
    table.add_column("vs direct", justify="right")
    for name, values in samples.items():
        table.add_row(
            name,
            f"{medians[name]:.2f}",
            f"{min(values):.2f}",
            f"{max(values):.2f}",
            f"{medians[name] / medians['engines direct']:.2f}x",
        )
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "topology_up",
                "runs": args.runs,
                **provenance(),
                "median_s": medians,
                "samples_s": samples,
                "ratio_up_fresh_vs_direct": medians["up (fresh)"] / medians["engines direct"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

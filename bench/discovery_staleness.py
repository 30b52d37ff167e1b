"""How stale a watcher's view is: from a change to the supervisor's snapshot to a watcher seeing it.

A small topology (two ``python -m http.server``) runs under ``millionscale up
--detach`` from a temporary directory; ``--watchers`` (3) watch its control
endpoint through :class:`millionscale.discovery.HttpDiscovery` (blocking
queries over the Unix socket) in this process, and the same process makes the
changes, so one clock (``time.perf_counter``) times both ends:

- ``role claim``: ``claim("bench/leader", ...)`` at a higher epoch, repeated
  ``--claims`` (200) times; from the call to each watcher yielding a snapshot
  with the new epoch. The endpoint publishes a claim at once: this is the
  endpoint-to-watcher path, the floor of staleness.
- ``process listed``: ``add_process`` (``POST /v1/processes``), repeated
  ``--adds`` (5) times; from the call to each watcher seeing the member at all.
  The supervisor publishes membership on its next loop (at most 50 ms).
- ``process ready``: the same adds, until each watcher sees the member
  ``ready``: a process start (a fresh interpreter) and its readiness probe
  included, which is what a balancer waiting for a new backend waits for.

Each added process is removed (drain 0) before the next add. Figures are the
median, 95th percentile and maximum over every (change, watcher) pair.

    .venv/bin/python bench/discovery_staleness.py [--watchers 3] [--claims 200] [--adds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from millionscale.bench.provenance import at_least, provenance
from millionscale.discovery import HttpDiscovery, Snapshot
from millionscale.topology.state import StateDir

TOPOLOGY = """
[topology]
name = "staleness"

[processes.web-1]
tier = "web"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "{host}"]
readiness = { tcp = true }

[processes.web-2]
tier = "web"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "{host}"]
readiness = { tcp = true }
"""
SEEN_LIMIT_S = 30.0  # a change not seen by then fails the run


def _cli(workdir: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "millionscale.cli", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"millionscale {' '.join(args)} failed: {result.stderr}")


class Watcher:
    """One watch() loop, with every snapshot it yields and when."""

    def __init__(self, discovery: HttpDiscovery) -> None:
        self.discovery = discovery
        self.latest: Snapshot | None = None
        self.changed = asyncio.Event()

    async def run(self) -> None:
        async for snapshot in self.discovery.watch():
            self.latest = snapshot
            self.changed.set()

    async def until(self, predicate: Callable[[Snapshot], bool]) -> float:
        async with asyncio.timeout(SEEN_LIMIT_S):
            while self.latest is None or not predicate(self.latest):
                self.changed.clear()
                await self.changed.wait()
        return time.perf_counter()


async def _seen(watchers: list[Watcher], began: float, predicate) -> list[float]:
    ends = await asyncio.gather(*(w.until(predicate) for w in watchers))
    return [end - began for end in ends]


def _listed(name: str) -> Callable[[Snapshot], bool]:
    return lambda snapshot: snapshot.member(name) is not None


def _ready(name: str) -> Callable[[Snapshot], bool]:
    def ready(snapshot: Snapshot) -> bool:
        member = snapshot.member(name)
        return member is not None and member.ready

    return ready


async def measure(path: Path, token: str, args: argparse.Namespace) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {"role claim": [], "process listed": [], "process ready": []}
    clients = [HttpDiscovery(path, token) for _ in range(args.watchers)]
    watchers = [Watcher(c) for c in clients]
    tasks = [asyncio.create_task(w.run()) for w in watchers]
    async with HttpDiscovery(path, token) as control:
        for epoch in range(1, args.claims + 1):
            began = time.perf_counter()
            await control.claim("bench/leader", "web-1", epoch)
            samples["role claim"] += await _seen(
                watchers,
                began,
                lambda s, e=epoch: (
                    s.roles.get("bench/leader", None) is not None
                    and s.roles["bench/leader"].epoch == e
                ),
            )
        for index in range(args.adds):
            name = f"web-x{index}"
            began = time.perf_counter()
            listed = asyncio.gather(*(w.until(_listed(name)) for w in watchers))
            ready = asyncio.gather(*(w.until(_ready(name)) for w in watchers))
            await control.add_process(name, like="web-1")
            samples["process listed"] += [end - began for end in await listed]
            samples["process ready"] += [end - began for end in await ready]
            await control.remove_process(name, drain_s=0)
            await _seen(watchers, time.perf_counter(), lambda s, n=name: s.member(n) is None)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()
    return samples


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--watchers", type=at_least(1), default=3)
    parser.add_argument("--claims", type=at_least(1), default=200)
    parser.add_argument("--adds", type=at_least(1), default=5)
    parser.add_argument("--json", type=Path, default=Path("bench/results/discovery_staleness.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "t.toml").write_text(TOPOLOGY)
        _cli(workdir, "up", "t.toml", "--detach")
        try:
            state = StateDir(workdir / ".millionscale")
            token = state.admin_token_file.read_text().strip()
            samples = asyncio.run(measure(state.control_socket(), token, args))
        finally:
            _cli(workdir, "down", "--purge")

    table = Table(title=f"from a change to a watcher seeing it, {args.watchers} watchers")
    for column in ("change", "samples", "median ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column == "change" else "right")
    summary = {}
    for name, values in samples.items():
        summary[name] = {
            "median_ms": statistics.median(values) * 1000,
            "p95_ms": _p95(values) * 1000,
            "max_ms": max(values) * 1000,
            "samples": len(values),
        }
        row = summary[name]
        table.add_row(
            name,
            str(row["samples"]),
            f"{row['median_ms']:.1f}",
            f"{row['p95_ms']:.1f}",
            f"{row['max_ms']:.1f}",
        )
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "discovery_staleness",
                "watchers": args.watchers,
                **provenance(),
                "summary": summary,
                "samples_s": samples,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

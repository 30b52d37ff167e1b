"""Failover time, SIGKILL of the primary to the first acknowledged write, ours beside Patroni's.

In one run:

1. **ours**: the replicated stage (``topologies/replicated.toml``: a primary,
   two quorum-commit standbys, the failover monitor with its defaults) under
   continuous writes through the router; each trial SIGKILLs the primary's
   process group at a random moment and measures the time to the first write
   acknowledged after the kill, then checks that every acknowledged write is on
   the new primary and waits for the old primary to rejoin as a standby;
2. **Patroni 3 + etcd** (Debian's packages, Patroni's default ttl 30 s and
   loop_wait 10 s) under the same kind of writes (libpq multi-host,
   ``target_session_attrs=read-write``), the leader's node (Patroni and its
   PostgreSQL) SIGKILLed: ``bench/patroni_peer.py``. Where Patroni cannot
   be installed or run, its documented defaults stand in: the leader key
   expires ``ttl`` (30 s) after its last renewal, which happened up to
   ``loop_wait`` (10 s) before the kill, so failover takes 20 to 30 s.

    .venv/bin/python bench/db_failover.py [--trials 7] [--patroni-trials 3]
        [--json bench/results/db_failover.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench.provenance import at_least, provenance
from millionscale.db import Router
from millionscale.db.cluster import read_record
from millionscale.db.status import NodeAddress, cluster_status
from millionscale.db.testing import missing_writes, write_continuously
from millionscale.servers.process import signal_tree
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir
from millionscale.topology.urls import engine_url

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGY = ROOT / "topologies" / "replicated.toml"
PATRONI_DEFAULTS = {"ttl_s": 30, "loop_wait_s": 10, "retry_timeout_s": 10}
console = Console()


def _cli(workdir: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "millionscale.cli", *args],
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=300,
    )


def _settled(state: StateDir) -> bool:
    record = read_record(state.cluster)
    topology = ResolvedTopology.read(state.topology)
    nodes = cluster_status(
        NodeAddress(p.name, p.address, engine_url(p))
        for p in topology.processes
        if p.engine == "postgres"
    )
    roles = {node.name: node.role for node in nodes}
    return record is not None and all(
        role == ("primary" if name == record.primary else "replica") for name, role in roles.items()
    )


def _wait_settled(state: StateDir, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not _settled(state):
        if time.monotonic() > deadline:
            raise RuntimeError("the cluster did not settle (old primary rejoined) in time")
        time.sleep(0.5)


async def _trial(state: StateDir, rng: random.Random) -> tuple[float, int, int]:
    """One SIGKILL of the primary: (seconds to the first write after it, acked, lost)."""
    topology = ResolvedTopology.read(state.topology)
    dsns = {p.name: engine_url(p) for p in topology.processes if p.engine == "postgres"}
    record = read_record(state.cluster)
    assert record is not None
    primary = record.primary
    replicas = {n: u for n, u in dsns.items() if n != primary}
    view = state.read_state() or {}
    pid = next(p["pid"] for p in view["processes"] if p["name"] == primary)
    async with Router(
        dsns[primary], replicas, primary_name=primary, poll_interval_s=0.1, failover_wait_s=60
    ) as router:
        stop = asyncio.Event()
        writers = asyncio.create_task(write_continuously(router, stop, sessions=2))
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        killed = time.monotonic()
        signal_tree(pid, signal.SIGKILL)
        for _ in range(1200):  # at most 120 s
            if router.primary != primary:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        stop.set()
        log = await writers
        first = log.first_ok_after(killed)
        if first is None:
            raise RuntimeError("no write succeeded after the kill")
        lost = missing_writes(dsns[router.primary], log.acked)
    return first - killed, len(log.acked), len(lost)


def ours(trials: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    times: list[float] = []
    acked = lost = 0
    with tempfile.TemporaryDirectory(prefix="ms-failover-") as tmp:
        workdir = Path(tmp)
        state = StateDir(workdir / ".millionscale")
        _cli(workdir, "up", str(TOPOLOGY), "--detach")
        try:
            with Progress(console=console) as progress:
                task = progress.add_task("ours: SIGKILL the primary", total=trials)
                for _ in range(trials):
                    _wait_settled(state)
                    seconds, n_acked, n_lost = asyncio.run(_trial(state, rng))
                    times.append(seconds)
                    acked += n_acked
                    lost += n_lost
                    progress.advance(task)
        finally:
            _cli(workdir, "down", "--purge")
    return {"trials_s": times, "acked_writes": acked, "lost_acked_writes": lost}


def patroni(trials: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from patroni_peer import patroni_failover_trials  # type: ignore[import-not-found]

        with Progress(console=console) as progress:
            task = progress.add_task("Patroni: kill the leader's node", total=None)
            times = patroni_failover_trials(
                trials, progress=lambda text: progress.update(task, description=text)
            )
        return {"source": "measured here", "trials_s": times}
    except (ImportError, RuntimeError, OSError) as error:
        console.print(f"[yellow]Patroni not measured here ({error}); using its defaults[/]")
        low = PATRONI_DEFAULTS["ttl_s"] - PATRONI_DEFAULTS["loop_wait_s"]
        return {
            "source": f"documented defaults (not runnable here: {error})",
            "trials_s": [float(low), float(PATRONI_DEFAULTS["ttl_s"])],
        }


def _summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_s": statistics.median(ordered), "p95_s": p95, "max_s": ordered[-1]}


def main() -> None:
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # a dead node's pool retries
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=at_least(1), default=7)
    parser.add_argument("--patroni-trials", type=at_least(0), default=3)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    mine = ours(args.trials, args.seed)
    peer = patroni(args.patroni_trials) if args.patroni_trials > 0 else None
    results: dict[str, Any] = {
        **provenance(),
        "ours": mine | _summary(mine["trials_s"]),
    }
    table = Table(title="failover: SIGKILL of the primary to the first acknowledged write")
    for column in ("system", "trials", "median", "p95", "acked writes lost"):
        table.add_column(column)
    o = results["ours"]
    table.add_row(
        "millionscale monitor (3 s timeout)",
        str(len(mine["trials_s"])),
        f"{o['median_s']:.2f} s",
        f"{o['p95_s']:.2f} s",
        f"{mine['lost_acked_writes']} of {mine['acked_writes']}",
    )
    if peer is not None:
        results["patroni"] = peer | _summary(peer["trials_s"]) | {"settings": PATRONI_DEFAULTS}
        p = results["patroni"]
        results["ratio_patroni_over_ours"] = p["median_s"] / o["median_s"]
        table.add_row(
            f"Patroni 3 + etcd, defaults ({peer['source'].split(' (')[0]})",
            str(len(peer["trials_s"])),
            f"{p['median_s']:.2f} s",
            f"{p['p95_s']:.2f} s",
            "-",
        )
    console.print(table)
    if "ratio_patroni_over_ours" in results:
        console.print(f"Patroni's median is {results['ratio_patroni_over_ours']:.1f}x ours")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

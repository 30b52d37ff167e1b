"""Reads on the data tier: the router's cost per query, and timeline reads with 0, 1, 2 replicas.

In one run:

1. **router overhead**: one primary and one replica (real PostgreSQL); the
   same ``SELECT 1`` sent ``--queries`` times, one at a time, through a plain
   psycopg pool to the replica and through ``Router.run_read`` (eventual
   consistency, so it goes to the replica too), in alternating rounds; the
   per-query medians and their difference are the router's price;
2. **timeline read capacity**: the photo app on a primary with 0, 1 and 2
   streaming replicas (reads routed to replicas with read-your-writes), seeded
   with the same dataset, and the highest rate of timeline reads
   (``--mix timeline=100``) whose p99 stays <= 100 ms, with our load generator.

    .venv/bin/python bench/db_reads.py [--queries 3000] [--replicas 0 1 2]
        [--step-seconds 10] [--json bench/results/db_reads.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench import dataset, run, scenario
from millionscale.bench.capacity import CapacityPlan
from millionscale.bench.provenance import at_least, provenance
from millionscale.db import Eventual, Router
from millionscale.db.testing import replicated_cluster
from millionscale.photos.seed import running_app, seed
from millionscale.topology.control import start, stop
from millionscale.topology.state import StateDir

SEED_USERS = 5_000
ACTIVE_USERS = 100
SLO_P99_MS = 100.0
ROUNDS = 6
console = Console()


async def _per_query(send: Any, queries: int) -> float:
    """Median seconds per query over ``queries`` sequential queries."""
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        await send()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _overhead(queries: int) -> dict[str, Any]:
    with replicated_cluster("r1") as cluster:
        replica = cluster.replicas["r1"].url
        direct_pool = AsyncConnectionPool(  # autocommit, as the router's pools
            replica, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}
        )
        await direct_pool.open(wait=True)

        async def direct() -> None:
            async with direct_pool.connection() as conn:
                await (await conn.execute("SELECT 1")).fetchone()

        async def one(conn: Any) -> Any:
            return await (await conn.execute("SELECT 1")).fetchone()

        direct_s: list[float] = []
        routed_s: list[float] = []
        async with Router(
            cluster.primary.url, {"r1": replica}, primary_name="main", pool_max=1
        ) as router:

            async def routed() -> None:
                await router.run_read(one, consistency=Eventual())

            with Progress(console=console) as progress:
                task = progress.add_task("router overhead", total=ROUNDS * 2)
                for _ in range(ROUNDS):
                    direct_s.append(await _per_query(direct, queries))
                    progress.advance(task)
                    routed_s.append(await _per_query(routed, queries))
                    progress.advance(task)
        await direct_pool.close()
    direct_us = statistics.median(direct_s) * 1e6
    routed_us = statistics.median(routed_s) * 1e6
    return {
        "queries_per_round": queries,
        "rounds": ROUNDS,
        "direct_psycopg_us": direct_us,
        "router_us": routed_us,
        "overhead_us": routed_us - direct_us,
        "ratio_router_over_direct": routed_us / direct_us,
    }


def _topology(replicas: int) -> str:
    names = [f"db-r{i}" for i in range(1, replicas + 1)]
    text = f"""
[topology]
name = "reads-{replicas}"

[processes.db]
tier = "db"
engine = "postgres"
readiness = {{ timeout_s = 60 }}
"""
    for name in names:
        text += f"""
[processes.{name}]
tier = "db"
engine = "postgres"
replica_of = "db"
depends_on = ["db"]
readiness = {{ timeout_s = 120 }}
"""
    urls = ",".join(f"{name}={{{name}.url}}" for name in names)
    env = 'DATABASE_URL = "{db.url}", SECRET_KEY = "{secret}", MEDIA_DIR = "{state_dir}/media"'
    if names:
        env += f', DATABASE_REPLICA_URLS = "{urls}"'
    deps = ", ".join(f'"{n}"' for n in ["db", *names])
    text += f"""
[processes.web]
tier = "web"
command = ["{{python}}", "-m", "millionscale.photos.app", "--port", "{{port}}", "--name", "{{name}}"]
env = {{ {env} }}
depends_on = [{deps}]
readiness = {{ http = "/readyz", timeout_s = 60 }}
"""
    return text


def _capacity(replicas: int, step_seconds: float, work: Path) -> dict[str, Any]:
    topology = work / f"reads-{replicas}.toml"
    topology.write_text(_topology(replicas))
    state_dir = work / f"state-{replicas}"
    started = start(topology, state_dir, detach=False, timeout=300)
    try:
        if started.problem is not None:
            raise RuntimeError(f"{topology.name} did not start: {started.problem}")
        app = running_app(started.topology)
        seed(app.database_url, app.media_dir, dataset.generate(SEED_USERS, seed=0), seed_value=0)
        workload = scenario.Workload.seeded(
            app.base_url, ACTIVE_USERS, seed=0, mix=scenario.parse_mix("timeline=100")
        )
        plan = CapacityPlan(start_rate=50.0, slo_p99_ms=SLO_P99_MS)
        result = asyncio.run(
            run.find_target_capacity(
                workload, plan, step_seconds, say=lambda s: console.print(s, markup=False)
            )
        )
    finally:
        stop(StateDir(state_dir))
    return {"replicas": replicas, "capacity_rps": result.highest_holding_rate or 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=at_least(1), default=3000)
    parser.add_argument("--replicas", type=at_least(0), nargs="*", default=[0, 1, 2])
    parser.add_argument("--step-seconds", type=at_least(1, float), default=10.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    overhead = asyncio.run(_overhead(args.queries))
    reads = []
    with tempfile.TemporaryDirectory(prefix="ms-reads-") as tmp:
        for replicas in args.replicas:
            console.rule(f"timeline reads, {replicas} replica(s)")
            reads.append(_capacity(replicas, args.step_seconds, Path(tmp)))

    table = Table(title="router overhead per query (median of rounds)")
    for column in ("direct psycopg", "router", "overhead", "ratio"):
        table.add_column(column)
    table.add_row(
        f"{overhead['direct_psycopg_us']:.0f} µs",
        f"{overhead['router_us']:.0f} µs",
        f"{overhead['overhead_us']:.0f} µs",
        f"{overhead['ratio_router_over_direct']:.2f}x",
    )
    console.print(table)
    reads_table = Table(title=f"timeline reads at p99 <= {SLO_P99_MS:g} ms")
    reads_table.add_column("replicas")
    reads_table.add_column("capacity")
    for row in reads:
        reads_table.add_row(str(row["replicas"]), f"{row['capacity_rps']:.0f} requests/s")
    console.print(reads_table)
    if args.json:
        # A run with --replicas and no numbers measures the overhead only and keeps
        # the capacity figures already in the file.
        previous = json.loads(args.json.read_text()) if args.json.exists() else {}
        results = {
            **provenance(),
            "router_overhead": overhead,
            "timeline_reads": reads or previous.get("timeline_reads", []),
        }
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

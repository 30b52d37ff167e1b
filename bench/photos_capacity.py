"""The photo app's capacity at p99 <= 100 ms, stage by stage, and where its time goes.

For each stage topology (single-server, separate-db, load-balanced,
replicated, cached by default), ``--runs`` times (3 by default; run 1 of
every stage, then run 2 of every stage, ... so that a slow spell of the
machine does not land on one stage only):

1. start it on a scratch state directory and seed it (5,000 users, skewed
   follows, ~20,000 photos);
2. search the highest constant rate of the default mix (timeline 70%, photo
   15%, like 8%, post 5%, sign up 2%) whose p99 stays <= 100 ms with under
   0.1% errors (``millionscale bench --find-capacity``);
3. load it again at 80% of that rate while py-spy samples the app process,
   and sort the samples into where the time goes; count the database
   transactions that run took on every PostgreSQL node (``pg_stat_database``,
   less what the same nodes commit idle over as long: health checks and
   replication) per request sent, which is what a cache tier saves;
4. stop it.

The stages run on simulated hosts of one size (docs/topology.md, "Hosts"):
the bench reads every host's own CPU accounting (its cgroup) around each
step of the search and around the profiled run. Each step records every
host's CPU use as a share of its quota; the host with the highest share at
the highest rate that held is the stage's *bottleneck*; the profiled run
gives each host's CPU milliseconds per request (the database hosts' sum is
what a cache saves). Per stage it records the host size and the web hosts,
so that ``estimate --calibrate`` can say what one web host of that size
carries.

The JSON keeps every run of every stage and, per stage, the median over the
runs (``highest_holding_rate``, ``transactions_per_request``) with each run's
figure and the run count (``capacity_over_runs``,
``transactions_per_request_over_runs``; ``per_web_host_rps``,
``database_cpu_ms_per_request``, the ``bottleneck`` and its share), and the
command line, date and machine that wrote it.

    .venv/bin/python bench/photos_capacity.py [--runs 3] [--stages single-server separate-db]
        [--step-seconds 10] [--start-rate 10] [--json bench/results/photos_capacity.json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from millionscale.bench import dataset, run, scenario
from millionscale.bench.capacity import CapacityPlan
from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.photos.seed import running_app, seed
from millionscale.topology.control import start, stop
from millionscale.topology.hosts import Fleet, HostFigures, host_use
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir
from millionscale.topology.urls import engine_url

ROOT = Path(__file__).resolve().parents[1]
SEED_USERS = 5_000
ACTIVE_USERS = 100
SLO_P99_MS = 100.0
PROFILE_SHARE = 0.8  # profile at 80% of capacity: busy, not yet queueing
PROFILE_SECONDS = 20
STAGES = ("single-server", "separate-db", "load-balanced", "replicated", "cached")
STATS_FLUSH_S = 11.0  # PGSTAT_IDLE_INTERVAL (10 s): an idle backend's counts are published

# Where a sample's time goes, judged by the frames on its stack (first match wins).
CATEGORIES = (
    ("password hashing (argon2)", ("argon2",)),
    ("image decode and thumbnail (Pillow)", ("PIL/",)),
    ("database driver (psycopg)", ("psycopg",)),
    ("JSON and validation (pydantic, json)", ("pydantic", "json/", "fastapi/encoders", "jsonable")),
    ("templates (jinja2)", ("jinja2",)),
    ("HTTP server (uvicorn, h11, httptools)", ("uvicorn", "h11", "httptools")),
    ("framework (fastapi, starlette)", ("fastapi", "starlette")),
    ("idle worker threads (waiting for work)", ("threading.py",)),
    ("event loop (asyncio, uvloop in C: I/O and polling)", ("asyncio", "selectors", "uvloop")),
)


def classify(stack: str) -> str:
    """The category of the innermost frame that belongs to one (leaf first)."""
    for frame in reversed(stack.split(";")):
        for name, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return name
    return "other (our code, stdlib)"


def profile(pid: int, seconds: int, out: Path) -> dict[str, Any]:
    """Sample ``pid``'s busy threads with py-spy: shares per category and the top leaf frames."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    subprocess.run(
        [py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200",
         "--format", "raw", "--output", str(out), "--nonblocking"],
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )  # fmt: skip
    counts: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            counts[classify(stack)] += int(count)
            leaves[stack.rsplit(";", 1)[-1]] += int(count)
    total = sum(counts.values()) or 1
    return {
        "categories": {name: count / total for name, count in counts.most_common()},
        "top_frames": {frame: count / total for frame, count in leaves.most_common(12)},
    }


def transactions(topology: ResolvedTopology) -> int:
    """Transactions committed or rolled back so far, summed over every PostgreSQL node."""
    total = 0
    for process in topology.processes:
        if process.engine != "postgres":
            continue
        with psycopg.connect(engine_url(process), autocommit=True) as conn:
            row = conn.execute(
                "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"
            ).fetchone()
        total += int(row[0]) if row and row[0] is not None else 0
    return total


def idle_transactions_per_s(topology: ResolvedTopology, seconds: float = 5.0) -> float:
    """What the nodes commit with no load: the routers' health checks, replication."""
    before = transactions(topology)
    time.sleep(seconds)
    return (transactions(topology) - before) / seconds


def bottleneck(hosts: dict[str, dict[str, float]]) -> tuple[str, float] | None:
    """The host nearest its quota, and its share of it (None: no limited host)."""
    if not hosts:
        return None
    name = max(hosts, key=lambda host: hosts[host]["quota_share"])
    return name, hosts[name]["quota_share"]


def measure(
    stage: str, step_seconds: float, start_rate: float, console: Console, work: Path
) -> dict[str, Any]:
    """One run of one stage: start, seed, search its capacity, profile, stop."""
    state_dir = work / stage / ".millionscale"
    topology = ROOT / "topologies" / f"{stage}.toml"
    started = start(topology, state_dir, detach=False, timeout=300)
    try:
        if started.problem:
            raise SystemExit(f"{stage} did not start: {started.problem}")
        app = running_app(started.topology)
        result = seed(app.database_url, app.media_dir, dataset.generate(SEED_USERS, seed=1))
        console.print(f"[bold]{stage}[/]: seeded {result.users} users, {result.photos} photos")
        workload = scenario.Workload.seeded(app.base_url, ACTIVE_USERS, seed=1)
        fleet = Fleet.observing(started.topology)
        database_hosts = sorted(
            {p.on_host for p in started.topology.processes if p.engine == "postgres" and p.on_host}
        )
        readings: list[list[HostFigures]] = []
        capacity = asyncio.run(
            run.find_target_capacity(
                workload,
                CapacityPlan(start_rate=start_rate, slo_p99_ms=SLO_P99_MS),
                step_seconds,
                say=lambda sentence: console.print(f"  {sentence}", markup=False),
                on_start=lambda _rate: readings.append(fleet.figures()),
            )
        )
        readings.append(fleet.figures())
        rate = capacity.highest_holding_rate or 0.0
        search = capacity.to_json()
        for step, (before, after) in zip(search["steps"], pairwise(readings), strict=True):
            step["hosts"] = host_use(before, after)
        holding = [s for s in search["steps"] if s["holds"] and s["rate"] == rate]
        at_capacity = holding[-1]["hosts"] if holding else {}
        neck = bottleneck(at_capacity)
        if neck:
            console.print(
                f"  bottleneck at {rate:g}/s: host {neck[0]} at {neck[1]:.0%} of its quota"
            )
        published = StateDir(state_dir).read_state() or {"processes": []}
        web = next(p for p in published["processes"] if p["tier"] == "web")  # the first
        shares: dict[str, Any] = {"categories": {}, "top_frames": {}}
        per_request = None
        cpu_ms_per_request: dict[str, float] = {}
        if rate:
            profile_rate = round(rate * PROFILE_SHARE, 1)
            console.print(f"  profiling at {profile_rate}/s for {PROFILE_SECONDS} s")
            holder: dict[str, dict[str, Any]] = {}
            sampler = threading.Thread(
                target=lambda: holder.update(
                    shares=profile(web["pid"], PROFILE_SECONDS, work / f"{stage}.pyspy.txt")
                )
            )
            idle = idle_transactions_per_s(started.topology)
            counted: list[float] = []

            def timed_run_starts(_rate: float) -> None:
                counted.extend([transactions(started.topology), time.monotonic()])
                readings.append(fleet.figures())
                sampler.start()

            # Sample only the timed run: logging the users in first is argon2 work
            # that the steady state does not have.
            summary = asyncio.run(
                run.bench_target(
                    workload, profile_rate, PROFILE_SECONDS + 2, on_start=timed_run_starts
                )
            )
            profiled = host_use(readings[-1], fleet.figures())
            cpu_ms_per_request = {
                name: round(host["cpu_s"] * 1000 / summary.requests, 2)
                for name, host in profiled.items()
            }
            # PostgreSQL 15's backends publish their counts at most every second and,
            # once idle, within 10 s: wait them out before the final reading.
            time.sleep(STATS_FLUSH_S)
            spent = transactions(started.topology) - counted[0]
            spent -= idle * (time.monotonic() - counted[1])
            per_request = round(max(spent, 0.0) / summary.requests, 2)
            console.print(f"  {per_request} database transactions per request")
            sampler.join()
            shares = holder.get("shares", shares)
        web_hosts = sorted(
            {p.on_host or p.name for p in started.topology.processes if p.tier == "web"}
        )
        return {
            "capacity": search,
            "highest_holding_rate": rate,
            "transactions_per_request": per_request,
            "hosts": {
                host.name: {"cpus": host.cpus, "memory_bytes": host.memory_bytes}
                for host in started.topology.hosts
            },
            "hosts_limited": started.topology.hosts_limited,
            "web_hosts": web_hosts,
            "database_hosts": database_hosts,
            "per_web_host_rps": round(rate / len(web_hosts), 2) if web_hosts else None,
            "bottleneck": {"host": neck[0], "quota_share": neck[1]} if neck else None,
            "cpu_ms_per_request": cpu_ms_per_request,
            "database_cpu_ms_per_request": (
                round(sum(cpu_ms_per_request[h] for h in database_hosts), 2)
                if cpu_ms_per_request
                else None
            ),
            "profile": shares,
        }
    finally:
        stop(StateDir(state_dir))


def over_stage_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One stage's figures over its runs: medians (the keys the estimator reads), every run."""

    def over(key: str) -> dict[str, Any] | None:
        values = [one[key] for one in runs if one.get(key) is not None]
        return over_runs(values) if values else None

    rates = over_runs([one["highest_holding_rate"] for one in runs])
    per_request, per_web_host, database_ms = (
        over(key)
        for key in ("transactions_per_request", "per_web_host_rps", "database_cpu_ms_per_request")
    )
    necks = [one["bottleneck"]["host"] for one in runs if one.get("bottleneck")]
    first = runs[0]
    return {
        "highest_holding_rate": rates["median"],
        "capacity_over_runs": rates,
        "transactions_per_request": per_request["median"] if per_request else None,
        "transactions_per_request_over_runs": per_request,
        "hosts": first.get("hosts", {}),
        "web_hosts": first.get("web_hosts", []),
        "database_hosts": first.get("database_hosts", []),
        "per_web_host_rps": per_web_host["median"] if per_web_host else None,
        "per_web_host_rps_over_runs": per_web_host,
        "database_cpu_ms_per_request": database_ms["median"] if database_ms else None,
        "database_cpu_ms_per_request_over_runs": database_ms,
        # The host nearest its quota at capacity in most runs, and in each.
        "bottleneck": collections.Counter(necks).most_common(1)[0][0] if necks else None,
        "bottleneck_over_runs": necks,
        "capacity": {
            "slo_p99_ms": first["capacity"]["slo_p99_ms"],
            "max_error_rate": first["capacity"]["max_error_rate"],
        },
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--runs", type=at_least(1), default=3, help="runs of every stage")
    parser.add_argument("--step-seconds", type=at_least(1, float), default=10.0)
    parser.add_argument(
        "--start-rate", type=at_least(1, float), default=10.0, help="the search's first rate"
    )
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/photos_capacity.json")
    args = parser.parse_args()
    written_by = provenance()
    console = Console()
    per_run: dict[str, list[dict[str, Any]]] = {stage: [] for stage in args.stages}
    results: dict[str, Any] = {}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(1, args.runs + 1):
            for stage in args.stages:
                console.print(f"[bold]run {number} of {args.runs}[/]")
                work = Path(tmp) / f"run-{number}"
                per_run[stage].append(
                    measure(stage, args.step_seconds, args.start_rate, console, work)
                )
                shutil.rmtree(work / stage, ignore_errors=True)  # data directories, media
            # Written after every round: a run cut short keeps the rounds it finished,
            # and says how many (runs_done) beside the runs asked for.
            results = {stage: over_stage_runs(runs) for stage, runs in per_run.items()}
            document = {
                "benchmark": "photos_capacity",
                **written_by,
                "cpus": written_by["machine"]["cpus"],  # the estimator's calibration reads it
                "runs": args.runs,
                "runs_done": number,
                "step_seconds": args.step_seconds,
                "start_rate": args.start_rate,
                **results,
            }
            args.json.write_text(json.dumps(document, indent=2) + "\n")
    table = Table(
        title=f"photo app capacity at p99 <= {SLO_P99_MS:g} ms (default mix), "
        f"median of {args.runs} run{'s' if args.runs > 1 else ''}"
    )
    table.add_column("stage")
    table.add_column("requests/s", justify="right")
    table.add_column("runs", justify="right")
    table.add_column(f"vs {args.stages[0]}", justify="right")
    table.add_column("db transactions/request", justify="right")
    table.add_column("web hosts", justify="right")
    table.add_column("per web host", justify="right")
    table.add_column("db-host CPU ms/request", justify="right")
    table.add_column("bottleneck (each run)")
    base = results[args.stages[0]]["highest_holding_rate"] or 0
    for stage, data in results.items():
        rate = data["highest_holding_rate"]
        per_request, per_web_host = data["transactions_per_request"], data["per_web_host_rps"]
        database_ms = data["database_cpu_ms_per_request"]
        table.add_row(
            stage,
            f"{rate:,.0f}",
            ", ".join(f"{r:,.0f}" for r in data["capacity_over_runs"]["runs"]),
            f"{rate / base:.2f}x" if base else "-",
            "-" if per_request is None else f"{per_request:.2f}",
            str(len(data["web_hosts"])),
            "-" if per_web_host is None else f"{per_web_host:,.1f}",
            "-" if database_ms is None else f"{database_ms:.1f}",
            ", ".join(data["bottleneck_over_runs"]) or "-",
        )
    console.print(table)
    for stage, data in results.items():
        shares = Table(
            title=f"{stage}: where the app process's time goes at 80% of capacity (run 1)"
        )
        shares.add_column("category")
        shares.add_column("share of samples", justify="right")
        for name, share in data["runs"][0]["profile"]["categories"].items():
            shares.add_row(name, f"{share:.1%}")
        console.print(shares)
    console.print(f"written to {args.json}")


if __name__ == "__main__":
    main()

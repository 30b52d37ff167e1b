"""Stage 7 (topologies/multi-dc.toml): what geo-routing buys users, and losing a data center.

``--runs`` times (3 by default), each on a fresh copy of the topology:

1. start it on a scratch state directory; seed ``--users`` users (the ones the
   writers follow) and sign up three writers in New York and three in Paris
   (:mod:`millionscale.bench.datacenters`);
2. **user latency**: for ``--seconds`` s each, every writer reads its timeline
   (and follows a user every fourth request) through a fault proxy that puts
   its city at a distance from each data center
   (``millionscale.bench.datacenters.USER_LATENCY_MS``: 5 ms one way to its own
   region's, 40 ms across the Atlantic), first going where GeoDNS sends it
   (``geo``), then all to us-east (``one-dc``, a site in one data center);
3. **a data center lost**: the writers follow users for 4 s, then us-east (the
   primary's) is cut off and its every process SIGKILLed; they write on for
   TTL + 20 s. Kept: when a fresh resolution for New York first named eu-west,
   when each city's writers first wrote again, and whether every acknowledged
   follow is on the promoted primary;
4. stop it, whatever happened.

The JSON keeps every run and the medians over the runs, with the command line,
date and machine that wrote it.

    .venv/bin/python bench/datacenters.py [--runs 3] [--seconds 20] [--users 2400]
        [--json bench/results/datacenters.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console

from millionscale.bench import dataset
from millionscale.bench.datacenters import (
    USER_LATENCY_MS,
    loss_drill,
    sign_up,
    targets,
    user_latency,
)
from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.photos.seed import running_app, seed
from millionscale.topology.control import start, stop
from millionscale.topology.state import StateDir
from millionscale.topology.urls import engine_url

ROOT = Path(__file__).resolve().parents[1]
TTL_S = 10  # www's TTL in topologies/multi-dc/photos.zone.toml
WRITERS_PER_CITY = 3


def lost_writes(state_dir: Path, topology: Any, drill: Any) -> int:
    """How many acknowledged follows the promoted primary does not hold."""
    record = json.loads(StateDir(state_dir).cluster.read_text())
    primary = topology.process(record["primary"])
    with psycopg.connect(engine_url(primary), autocommit=True) as conn:
        stored = set(
            conn.execute(
                "SELECT follower_id, followee_id FROM follows WHERE follower_id = ANY(%s)",
                ([w.user_id for w in drill.writers],),
            ).fetchall()
        )
    return len(drill.acked() - stored)


def measure(args: argparse.Namespace, console: Console, work: Path) -> dict[str, Any]:
    shutil.copytree(ROOT / "topologies", work / "topologies")  # media land beside it
    state_dir = work / ".millionscale"
    started = start(work / "topologies" / "multi-dc.toml", state_dir, detach=False, timeout=300)
    try:
        if started.problem:
            raise SystemExit(f"multi-dc.toml did not start: {started.problem}")
        topology = started.topology
        app = running_app(topology)
        seeded = seed(app.database_url, app.media_dir, dataset.generate(args.users, seed=1))
        console.print(f"seeded {seeded.users} users")
        writers = sign_up(topology, WRITERS_PER_CITY)
        follow = targets(app.database_url)
        half = len(follow) // 2

        def say(sentence: str) -> None:
            console.print(f"  {sentence}", markup=False, highlight=False)

        latency = asyncio.run(
            user_latency(topology, writers, follow[:half], seconds=args.seconds, say=say)
        )
        drill = asyncio.run(
            loss_drill(
                topology,
                StateDir(state_dir),
                writers,
                follow[half:],
                before_s=4.0,
                after_s=TTL_S + 20,
            )
        )
        summary = drill.summary()
        summary["lost_acknowledged"] = lost_writes(state_dir, topology, drill)
        say(
            f"us-east lost: New York's fresh answers moved in {summary['moved_s']} s; writes "
            f"again after {summary['resumed_s']}; {summary['acked']} acknowledged, "
            f"{summary['lost_acknowledged']} lost"
        )
        return {"latency": latency, "loss": summary}
    finally:
        stop(StateDir(state_dir))


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for mode in ("geo", "one-dc"):
        keys = sorted(
            {k for r in runs for k, v in r["latency"][mode].items() if isinstance(v, dict)}
        )
        figures[mode] = {
            key: {
                "p50_ms": over_runs([r["latency"][mode][key]["p50"] for r in runs]),
                "p99_ms": over_runs([r["latency"][mode][key]["p99"] for r in runs]),
            }
            for key in keys
        }
    losses = [r["loss"] for r in runs]
    figures["loss"] = {
        "moved_s": over_runs([x["moved_s"] for x in losses if x["moved_s"] is not None]),
        **{
            f"resumed_{city}_last_s": over_runs(
                [x["resumed_s"][city]["last"] for x in losses if city in x["resumed_s"]]
            )
            for city in ("new-york", "paris")
        },
        "acked": sum(x["acked"] for x in losses),
        "lost_acknowledged": sum(x["lost_acknowledged"] for x in losses),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--seconds", type=at_least(5, float), default=20.0, help="per mode")
    parser.add_argument("--users", type=at_least(600), default=2400, help="seeded")
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/datacenters.json")
    args = parser.parse_args()
    written_by = provenance()
    console = Console()
    runs: list[dict[str, Any]] = []
    args.json.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(1, args.runs + 1):
            console.print(f"[bold]run {number} of {args.runs}[/]")
            work = Path(tmp) / f"run-{number}"
            runs.append(measure(args, console, work))
            shutil.rmtree(work, ignore_errors=True)
            document = {
                "benchmark": "datacenters",
                **written_by,
                "topology": "topologies/multi-dc.toml",
                "user_latency_ms_one_way": {
                    f"{c}->{d}": v for (c, d), v in USER_LATENCY_MS.items()
                },
                "seconds_per_mode": args.seconds,
                "writers_per_city": WRITERS_PER_CITY,
                "runs": args.runs,
                "runs_done": number,
                **medians(runs),
                "per_run": runs,
            }
            args.json.write_text(json.dumps(document, indent=2) + "\n")
    for mode in ("geo", "one-dc"):
        line = ", ".join(
            f"{key} {value['p50_ms']['median']:.1f} ms" for key, value in document[mode].items()
        )
        console.print(f"{mode}, medians of {args.runs} (p50): {line}")
    loss = document["loss"]
    console.print(
        f"us-east lost, medians of {args.runs}: fresh answers moved in "
        f"{loss['moved_s']['median']:.2f} s; New York wrote again within "
        f"{loss['resumed_new-york_last_s']['median']:.1f} s, Paris within "
        f"{loss['resumed_paris_last_s']['median']:.1f} s; {loss['acked']} acknowledged, "
        f"{loss['lost_acknowledged']} lost"
    )
    console.print(f"written to {args.json}")


if __name__ == "__main__":
    main()

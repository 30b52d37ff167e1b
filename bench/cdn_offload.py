"""Origin offload of stage 6 (topologies/cdn.toml): what the CDN spares the photo app.

``--runs`` times (1 by default), each on a fresh copy of the topology (cold
caches: every run pays its compulsory misses):

1. start topologies/cdn.toml (two edges facing the public side, a shield on
   the private subnet in front of the photo app) on a scratch state directory
   and seed it (``--users`` users, skewed follows, ~4 photos each);
2. read every edge's and the shield's counters (``GET /v1/statistics`` on
   each admin API, inside its network namespace);
3. drive a browser's mix (``BROWSER_MIX``: timeline 45%, image 40%, photo 7%,
   like 4%, post 3%, sign up 1%) open-loop at edge-1, where users come in,
   at ``--rate`` requests/s for ``--duration`` s, twice: the *cold* load
   (empty caches: the first fetch of every file is a miss) and then the
   *warm* one (the same users again, their files mostly held);
4. read the counters after each: the tier's origin offload over each load
   (:func:`millionscale.cdn.offload.offload`: the share of the bytes the
   edges served that the origin did not send, the origin's bytes being the
   shield's fetches; each member's hit ratio, passes left out);
5. stop it, whatever happened.

The edge share counts every byte users got through the edge, the API's JSON
(passed through uncached) included, so it is the origin's whole offload, not
only the images'. The images' own figure comes from the load generator: the
image fetches edge-1 answered from its store (``X-Cache: HIT`` or ``STALE``)
and their bytes. The seeded photos are flat-colour 640x480 JPEGs of a few KB,
far smaller than real photos, so the API's JSON weighs more in the bytes here
than it would on a real site.

The JSON keeps every run (each load's summary, the offload with each member's
figures) and, per phase, the median over the runs of the edge share, edge-1's
hit ratio, the bytes served and the bytes the origin sent, with the command
line, date and machine that wrote it.

    .venv/bin/python bench/cdn_offload.py [--runs 3] [--rate 30] [--duration 30]
        [--users 1000] [--json bench/results/cdn_offload.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from millionscale.bench import dataset, run, scenario
from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.cdn.offload import StatisticsReading, offload, read_statistics
from millionscale.photos.seed import running_app, seed
from millionscale.topology.admin import admin_clients
from millionscale.topology.control import start, stop
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir

ROOT = Path(__file__).resolve().parents[1]
ACTIVE_USERS = 50  # logged in and acting during the load, as in the demo
ENTRY = "edge-1"  # where users come in (the first edge `up` prints)


def readings(topology: ResolvedTopology) -> list[StatisticsReading]:
    members = [(p.name, p.role, c) for p, c in admin_clients(topology, "cdn", "CDN")]
    return read_statistics(members)


PHASES = ("cold", "warm")


def measure(args: argparse.Namespace, console: Console, work: Path) -> dict[str, Any]:
    """One run: start, seed, load at edge-1 cold then warm, read the offloads, stop."""
    shutil.copytree(ROOT / "topologies", work / "topologies")  # media land beside it
    state_dir = work / ".millionscale"
    started = start(work / "topologies" / "cdn.toml", state_dir, detach=False, timeout=300)
    try:
        if started.problem:
            raise SystemExit(f"cdn.toml did not start: {started.problem}")
        topology = started.topology
        app = running_app(topology)
        result = seed(app.database_url, app.media_dir, dataset.generate(args.users, seed=1))
        console.print(f"seeded {result.users} users, {result.photos} photos")
        entry = next(p for p in topology.processes if p.name == ENTRY)
        workload = scenario.Workload.seeded(
            f"http://{entry.address}", ACTIVE_USERS, mix=scenario.BROWSER_MIX, seed=1
        )
        figures: dict[str, Any] = {"target": workload.base_url}
        for phase in PHASES:
            before = readings(topology)
            ran: list[scenario.Scenario] = []
            summary = asyncio.run(
                run.bench_target(
                    workload,
                    args.rate,
                    args.duration,
                    say=lambda sentence: console.print(f"  {sentence}", markup=False),
                    scenario_out=ran,
                )
            )
            tier = offload(before, readings(topology))
            images = ran[0].images_json()
            console.print(f"{phase}: {tier.sentence()}", markup=False, highlight=False)
            console.print(
                f"{phase}: {images['images']} images ({images['image_bytes'] / 1e6:.1f} MB), "
                f"{images['image_hits']} from edge-1's store",
                markup=False,
                highlight=False,
            )
            figures[phase] = {"load": summary.to_json(), "offload": tier.to_json(), **images}
        return figures
    finally:
        stop(StateDir(state_dir))


def _member(phase: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in phase["offload"]["members"] if m["name"] == name)


def medians(runs: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    """The phase's figures over the runs: each run's and the median."""
    each = [r[phase] for r in runs]
    return {
        "edge_share": over_runs([p["offload"]["edge_share"] or 0.0 for p in each]),
        "entry_hit_ratio": over_runs([_member(p, ENTRY)["hit_ratio"] or 0.0 for p in each]),
        "served_bytes": over_runs([p["offload"]["served_bytes"] for p in each]),
        "origin_bytes": over_runs([p["offload"]["origin_bytes"] for p in each]),
        "p99_ms": over_runs([p["load"]["latency_ms"]["p99"] or 0.0 for p in each]),
        "image_hit_share": over_runs([p["image_hits"] / (p["images"] or 1) for p in each]),
        "image_bytes": over_runs([p["image_bytes"] for p in each]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=at_least(1), default=1)
    parser.add_argument("--rate", type=at_least(1, float), default=30.0, help="requests/s")
    parser.add_argument("--duration", type=at_least(1, float), default=30.0, help="seconds")
    parser.add_argument("--users", type=at_least(ACTIVE_USERS), default=1_000, help="seeded")
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/cdn_offload.json")
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
            shutil.rmtree(work, ignore_errors=True)  # data directories, media
            document = {
                "benchmark": "cdn_offload",
                **written_by,
                "topology": "topologies/cdn.toml",
                "mix": str(scenario.BROWSER_MIX),
                "entry": ENTRY,
                "rate": args.rate,
                "duration_s": args.duration,
                "seeded_users": args.users,
                "active_users": ACTIVE_USERS,
                "runs": args.runs,
                "runs_done": number,
                **{phase: medians(runs, phase) for phase in PHASES},
                "per_run": runs,
            }
            args.json.write_text(json.dumps(document, indent=2) + "\n")
    for phase in PHASES:
        figures = document[phase]
        console.print(
            f"{phase}, median of {args.runs}: edges served {figures['edge_share']['median']:.0%} "
            f"of {figures['served_bytes']['median'] / 1e6:.1f} MB, the origin sent "
            f"{figures['origin_bytes']['median'] / 1e6:.1f} MB; {ENTRY}'s hit ratio "
            f"{figures['entry_hit_ratio']['median']:.0%}; images from the edge's store "
            f"{figures['image_hit_share']['median']:.0%} "
            f"(of {figures['image_bytes']['median'] / 1e6:.1f} MB)"
        )
    console.print(f"written to {args.json}")


if __name__ == "__main__":
    main()

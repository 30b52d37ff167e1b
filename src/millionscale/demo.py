"""``millionscale demo``: the whole system up, loaded, reported and stopped.

1. start ``topologies/demo.toml`` (the whole system as it stands);
2. seed the photo app with a skewed dataset (users, celebrities, photos);
3. drive the default scenario mix at it open-loop for a short while;
4. print a summary table and write an HTML report with latency-over-time and
   throughput charts;
5. stop everything, whatever happened in between.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from millionscale.bench import dataset, run, scenario
from millionscale.bench.html_report import write_report
from millionscale.bench.recorder import Summary
from millionscale.bench.report import summary_table
from millionscale.photos.seed import running_app, seed
from millionscale.topology.control import Started, start, stop
from millionscale.topology.state import StateDir

__all__ = ["DemoSettings", "run_demo"]


@dataclass(frozen=True, slots=True)
class DemoSettings:
    topology: Path = Path("topologies/demo.toml")
    state_dir: Path = Path(".millionscale")
    users: int = 2_000  # seeded users; ~40,000 follows and ~8,000 photos
    active_users: int = 50  # of them, logged in and acting during the load
    rate: float = 50.0  # requests/s: well inside one app process's capacity here
    duration_s: float = 30.0
    seed: int = 0
    ready_timeout_s: float = 300.0


def _load(settings: DemoSettings, base_url: str, say: Any) -> Summary:
    workload = scenario.Workload.seeded(base_url, settings.active_users, seed=settings.seed)
    return asyncio.run(run.bench_target(workload, settings.rate, settings.duration_s, say=say))


def run_demo(settings: DemoSettings, console: Console) -> Path | None:
    """Run the demo; return the HTML report's path, or None if the system did not start.

    Stops everything it started, whatever happens.
    """
    state = StateDir(settings.state_dir)
    console.rule("millionscale demo")
    with console.status(f"starting {settings.topology}"):
        started: Started = start(
            settings.topology, settings.state_dir, detach=False, timeout=settings.ready_timeout_s
        )
    try:
        if started.problem is not None:
            console.print(f"[red]the topology did not start:[/] {started.problem}")
            console.print(f"its logs are in {state.logs}")
            return None
        console.print(
            f"{len(started.topology.processes)} processes ready in {started.elapsed_s:.1f} s: "
            + ", ".join(f"{p.name} ({p.tier}) {p.address}" for p in started.topology.processes)
        )
        app = running_app(started.topology)
        with console.status(f"seeding {settings.users} users") as status:
            result = seed(
                app.database_url,
                app.media_dir,
                dataset.generate(settings.users, seed=settings.seed),
                seed_value=settings.seed,
                progress=lambda step: status.update(f"seeding {step}"),
            )
        console.print(
            "seed: database already seeded"
            if result.skipped
            else f"seeded {result.users} users, {result.follows} follows, {result.photos} photos"
        )
        console.print(
            f"load: {settings.rate:g} requests/s for {settings.duration_s:g} s, open loop, "
            "mix timeline 70% / photo 15% / like 8% / post 5% / signup 2%"
        )
        with console.status("loading"):
            summary = _load(settings, app.base_url, lambda s: console.print(s, markup=False))
    finally:
        with console.status("stopping"):
            stop(state)
    console.print(summary_table(summary, title=f"demo: {started.topology.name}"))
    data = summary.to_json()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    reports = settings.state_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"demo-{stamp}.json").write_text(json.dumps(data, indent=2))
    path = write_report(
        reports / f"demo-{stamp}.html",
        f"millionscale demo: {started.topology.name}",
        {started.topology.name: data},
        notes=[
            f"topology {settings.topology}: "
            + ", ".join(f"{p.name} ({p.tier})" for p in started.topology.processes),
            f"seeded {settings.users} users (seed {settings.seed}); "
            f"{settings.active_users} of them active during the load",
        ],
    )
    console.print(f"report: {path}")
    return path

"""``millionscale bench``: open-loop load at a target, or a search for its capacity,
with a live bar on a terminal and a table (and JSON) at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from millionscale.cli._console import console, err_console
from millionscale.cli._options import DAY_S, RATE, SECONDS, number


def bench(
    target: Annotated[
        str,
        typer.Option(
            help="Base URL of the photo-sharing service to load, e.g. http://127.0.0.1:8000."
        ),
    ],
    rate: Annotated[
        float,
        typer.Option(
            parser=RATE, help="Requests per second (the first step with --find-capacity)."
        ),
    ] = 100.0,
    duration: Annotated[
        float,
        typer.Option(parser=SECONDS, help="Seconds to run (each step with --find-capacity)."),
    ] = 10.0,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the result to this JSON file.")
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option(
            help="Action weights, default timeline=70,photo=15,like=8,post=5,signup=2; "
            "'browser' fetches images after timelines (timeline=45,image=40,...)."
        ),
    ] = None,
    users: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Seeded users to log in and act as.")
    ] = 100,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the random choices.")] = 0,
    password: Annotated[
        str | None, typer.Option(help="The seeded users' password (default: the seeder's).")
    ] = None,
    find_capacity: Annotated[
        bool, typer.Option("--find-capacity", help="Search the highest rate that meets the SLO.")
    ] = False,
    slo_p99_ms: Annotated[
        float,
        typer.Option(
            parser=number(0, DAY_S * 1000, above=True),
            help="With --find-capacity: the p99 latency a rate must keep.",
        ),
    ] = 100.0,
    connections: Annotated[
        int, typer.Option(min=1, max=65_536, help="Size of the connection pool.")
    ] = 256,
    timeout: Annotated[
        float, typer.Option(parser=SECONDS, help="Seconds each request may take.")
    ] = 10.0,
) -> None:
    """Load a target open-loop at a constant rate (wrk2-style); report latency and errors."""
    import asyncio

    from rich.progress import MofNCompleteColumn

    from millionscale.bench import capacity as cap
    from millionscale.bench import dataset, report, run, scenario, schedule

    schedule.validate_rate_and_duration(rate, duration)
    workload = scenario.Workload.seeded(
        target,
        users,
        password=dataset.DEFAULT_PASSWORD if password is None else password,
        mix=scenario.DEFAULT_MIX if mix is None else scenario.parse_mix(mix),
        seed=seed,
    )
    limits = run.Limits(pool_limit=connections, timeout_s=timeout)
    plan = cap.CapacityPlan(start_rate=rate, slo_p99_ms=slo_p99_ms) if find_capacity else None
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    if json_file is not None:
        report.check_writable(json_file)  # fail now, not after the run
    quiet = not err_console.is_terminal  # no bar (nor its blank line) in logs and pipes
    with Progress(*columns, console=err_console, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"logging in {users} users", total=None)

        def say(sentence: str) -> None:
            progress.console.print(sentence, markup=False, highlight=False)

        def on_start(step_rate: float) -> None:
            progress.reset(task, description=f"{step_rate:,.0f}/s", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if plan is None:
            summary = asyncio.run(
                run.bench_target(
                    workload,
                    rate,
                    duration,
                    limits=limits,
                    say=say,
                    on_start=on_start,
                    progress=advance,
                )
            )
            data, table = summary.to_json(), report.summary_table(summary, title=workload.base_url)
        else:
            capacity = asyncio.run(
                run.find_target_capacity(
                    workload,
                    plan,
                    duration,
                    limits=limits,
                    say=say,
                    on_start=on_start,
                    progress=advance,
                )
            )
            data, table = capacity.to_json(), report.capacity_table(capacity)
    console.print(table)
    if json_file is not None:
        report.write_json(json_file, data)
        console.print(f"result written to {json_file}")

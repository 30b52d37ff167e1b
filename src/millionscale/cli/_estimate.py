"""``millionscale estimate``: the command over :mod:`millionscale.estimate.command`
(a scenario and flags, or the latency numbers)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from millionscale.cli._console import console


def estimate(
    scenario: Annotated[
        str | None,
        typer.Argument(
            metavar="[SCENARIO.toml | latency]",
            help="A scenario file (see scenarios/), or the word 'latency' for the latency numbers.",
            show_default=False,
        ),
    ] = None,
    dau: Annotated[str | None, typer.Option(help="Daily active users, e.g. 150M.")] = None,
    mau: Annotated[str | None, typer.Option(help="Monthly active users, e.g. 300M.")] = None,
    daily_active_fraction: Annotated[
        str | None, typer.Option(help="Share of monthly users active on a day, e.g. 0.5 or 50%.")
    ] = None,
    writes_per_user: Annotated[
        str | None, typer.Option(help="Writes per daily user per day.")
    ] = None,
    reads_per_write: Annotated[str | None, typer.Option(help="Reads per write.")] = None,
    peak_factor: Annotated[str | None, typer.Option(help="Peak over average traffic.")] = None,
    text_size: Annotated[
        str | None, typer.Option(help="Text and metadata per write, e.g. 200B.")
    ] = None,
    media_fraction: Annotated[
        str | None, typer.Option(help="Share of writes carrying media, e.g. 10%.")
    ] = None,
    media_size: Annotated[
        str | None, typer.Option(help="Size of one media file, e.g. 1MB.")
    ] = None,
    retention: Annotated[str | None, typer.Option(help="How long data is kept, e.g. 5y.")] = None,
    replication: Annotated[str | None, typer.Option(help="Copies of every byte.")] = None,
    calibrate: Annotated[
        Path | None,
        typer.Option(help="Per-node capacities measured by 'millionscale bench' (JSON)."),
    ] = None,
    binary: Annotated[
        bool, typer.Option("--binary/--decimal", help="Show sizes in KiB, MiB... or KB, MB...")
    ] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the derivation of every figure.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    measure: Annotated[
        bool, typer.Option("--measure", help="With 'latency': measure this machine's figures.")
    ] = False,
) -> None:
    """Back-of-the-envelope QPS, storage, bandwidth, cache and servers, derived step by step.

    'millionscale estimate latency [--measure]' prints the latency numbers instead.
    """
    from millionscale.errors import ConfigError
    from millionscale.estimate.command import (
        LATENCY,
        EstimateRequest,
        run_estimate,
        run_latency,
    )
    from millionscale.estimate.units import UnitSystem

    flags = {
        "dau": dau,
        "mau": mau,
        "daily_active_fraction": daily_active_fraction,
        "writes_per_user": writes_per_user,
        "reads_per_write": reads_per_write,
        "peak_factor": peak_factor,
        "text_size": text_size,
        "media_fraction": media_fraction,
        "media_size": media_size,
        "retention": retention,
        "replication": replication,
    }
    if scenario == LATENCY:
        given = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v is not None]
        given += [name for name, on in (("--calibrate", calibrate), ("--explain", explain)) if on]
        if given:
            raise ConfigError(
                f"{', '.join(given)}: not options of 'estimate latency'",
                hint="'estimate latency' takes --measure and --json; "
                "write ./latency for a scenario file called latency",
            )
        run_latency(console, measure=measure, as_json=as_json)
        return
    if measure:
        raise ConfigError(
            "--measure: only with 'latency'", hint="run 'millionscale estimate latency --measure'"
        )
    request = EstimateRequest(
        scenario=Path(scenario) if scenario is not None else None,
        flags=flags,
        calibrate=calibrate,
        system=UnitSystem.BINARY if binary else UnitSystem.DECIMAL,
        explain=explain,
        as_json=as_json,
    )
    run_estimate(request, console)

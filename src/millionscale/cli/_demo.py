"""``millionscale demo``: the command over :func:`millionscale.demo.run_demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from millionscale.cli._console import console
from millionscale.cli._options import DAY_S, NoHostLimitsOption, StateOption, number
from millionscale.topology.state import DEFAULT_STATE_DIR


def demo(
    topology: Annotated[Path, typer.Option(help="Topology to run.")] = Path("topologies/demo.toml"),
    users: Annotated[int, typer.Option(min=10, max=1_000_000, help="Users to seed.")] = 2_000,
    rate: Annotated[
        float, typer.Option(parser=number(1, 1_000_000), help="Requests per second.")
    ] = 50.0,
    duration: Annotated[
        float, typer.Option(parser=number(1, DAY_S), help="Seconds of load.")
    ] = 30.0,
    no_host_limits: NoHostLimitsOption = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Bring the whole system up, seed it, load it, report, and stop it."""
    from millionscale.demo import DemoSettings, run_demo

    settings = DemoSettings(
        topology=topology,
        state_dir=state_dir,
        users=users,
        rate=rate,
        duration_s=duration,
        host_limits=not no_host_limits,
    )
    if run_demo(settings, console) is None:
        raise typer.Exit(1)

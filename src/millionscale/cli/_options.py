"""The options several commands share: bounded numbers and the state directory.

A number option is parsed by :func:`number`, so that a value out of range (and
nan or inf, which would pass any bound or wait forever) is a usage error,
refused before anything starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

StateOption = Annotated[
    Path,
    typer.Option(
        "--state-dir",
        envvar="MILLIONSCALE_STATE_DIR",
        help="Where the running topology keeps its state.",
    ),
]
NoHostLimitsOption = Annotated[
    bool,
    typer.Option(
        "--no-host-limits",
        help="Run the topology's hosts without CPU and memory limits (no root or no "
        "cgroups here); their figures are then not per host.",
    ),
]


def number(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """A parser for a float option in ``[low, high]`` (``(low, high]`` when ``above``) that
    also refuses nan and inf, which would pass any bound or wait forever."""
    bounds = f"{'more than' if above else 'at least'} {low:g} and at most {high:g}"

    def parse(text: str | float) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (above and value == low) or value > high:
            raise typer.BadParameter(f"{text} is out of range (must be {bounds})")
        return value

    return parse


DAY_S = 86_400.0  # no wait, run or timeout of ours is meant to last longer
SECONDS = number(0, DAY_S, above=True)  # a duration
RATE = number(0, 10_000_000, above=True)  # requests per second

"""``millionscale scale``: run N replicas of a replicated process, through the supervisor's
control endpoint (``POST /v1/scale``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from millionscale.cli._console import console
from millionscale.cli._discovery import MEMBER_COLUMNS, member_row, with_control
from millionscale.cli._options import StateOption
from millionscale.render import Records
from millionscale.topology.model import MAX_REPLICAS
from millionscale.topology.state import DEFAULT_STATE_DIR

_TARGET = re.compile(r"^([a-z][a-z0-9-]{0,39})=([0-9]{1,6})$")


def _target(text: str) -> tuple[str, int]:
    """``web=4`` as ``("web", 4)``; a usage error for anything else."""
    match = _TARGET.match(text.strip())
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not NAME=N (a replicated process or its tier, and a count: web=4)"
        )
    count = int(match[2])
    if not 1 <= count <= MAX_REPLICAS:
        raise typer.BadParameter(
            f"{text!r}: the count must be from 1 to {MAX_REPLICAS} (at least one replica stays)"
        )
    return match[1], count


def _scaling(name: str, replicas: int) -> Callable[[Any], Awaitable[Any]]:
    async def call(control: Any) -> Any:
        return await control.scale(name, replicas)

    return call


def scale(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="TIER_OR_NAME=N, one or more: a replicated process (or the tier of one) "
            "and how many replicas of it to run.",
            metavar="TIER_OR_NAME=N",
        ),
    ],
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Start or drain replicas until N run: new ones on hosts of their own (in the
    balancer's rotation once ready), the highest-numbered drained first (out of rotation
    at once, stopped once drained)."""
    wanted = [_target(text) for text in targets]  # every argument checked before any change
    for name, replicas in wanted:
        scaled = with_control(state_dir, _scaling(name, replicas))
        rows = [member_row(m) for m in (*scaled.started, *scaled.drained)]
        title = f"{scaled.name}: {scaled.replicas} replicas"
        if not rows:
            console.print(f"{title}, as already", markup=False, highlight=False)
            continue
        console.print(Records.of(MEMBER_COLUMNS, rows, title=title))

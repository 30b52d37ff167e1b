"""``millionscale process``: add a process made like a running one, or drain and
remove one, through the supervisor's control endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from millionscale.cli._console import console
from millionscale.cli._discovery import MEMBER_COLUMNS, member_row, with_control
from millionscale.cli._options import StateOption
from millionscale.render import Records
from millionscale.topology.state import DEFAULT_STATE_DIR

process_app = typer.Typer(
    help="Add or remove a process of the running topology.", no_args_is_help=True
)


@process_app.command("add")
def process_add(
    name: Annotated[str, typer.Argument(help="The new process's name.")],
    like: Annotated[str, typer.Option("--like", help="The running process to copy.")],
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Start a new process made from a running one's spec, with its own port."""
    member = with_control(state_dir, lambda control: control.add_process(name, like))
    console.print(Records.of(MEMBER_COLUMNS, [member_row(member)], title="added"))


@process_app.command("remove")
def process_remove(
    name: Annotated[str, typer.Argument(help="The process to remove.")],
    drain: Annotated[
        float | None,
        typer.Option(min=0, max=600, help="Seconds to drain first (default: the supervisor's)."),
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Drain a process (discovery shows it stopping), then stop and remove it."""
    member = with_control(state_dir, lambda control: control.remove_process(name, drain))
    console.print(Records.of(MEMBER_COLUMNS, [member_row(member)], title="removing"))

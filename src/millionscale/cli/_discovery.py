"""``millionscale discovery``: the live snapshot the supervisor's control endpoint
serves, and the client of that endpoint (:func:`with_control`) that ``process``
shares."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from millionscale.cli._console import console
from millionscale.cli._options import StateOption
from millionscale.cli._running import running_topology
from millionscale.errors import SupervisorError
from millionscale.render import Cell, Column, Records
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir


def _control(state_dir: Path) -> Any:
    """A client of the running supervisor's control endpoint (an HttpDiscovery)."""
    from millionscale.discovery import HttpDiscovery

    running_topology(state_dir)
    state = StateDir(state_dir)
    try:
        token = state.admin_token_file.read_text().strip()
    except OSError as error:
        raise SupervisorError(
            f"cannot read the admin token {state.admin_token_file}: {error.strerror}",
            hint="run this as the user that started the topology",
        ) from None
    return HttpDiscovery(state.control_socket(), token)


def with_control(state_dir: Path, call: Callable[[Any], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with _control(state_dir) as control:
            return await call(control)

    return asyncio.run(run())


def member_row(member: Any) -> list[Cell]:
    ports = " ".join(f"{name}={port}" for name, port in member.ports.items())
    return [member.name, member.tier, member.datacenter, member.role or None, member.host, ports,
            Text(member.health, style=HEALTH_STYLES.get(member.health, ""))]  # fmt: skip


HEALTH_STYLES = {"ready": "green", "starting": "yellow", "unready": "yellow", "failed": "red",
                 "stopping": "dim", "stopped": "dim"}  # fmt: skip
MEMBER_COLUMNS: list[Column | str] = ["name", "tier", "dc", "role", "host", "ports", "health"]


def discovery(
    as_json: Annotated[bool, typer.Option("--json", help="The snapshot as JSON.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """The live snapshot discovery serves: every member, its health, and role claims."""
    snapshot = with_control(state_dir, lambda control: control.snapshot())
    if as_json:
        print(snapshot.dumps())
        return
    rows = [member_row(m) for m in snapshot.members]
    console.print(Records.of(MEMBER_COLUMNS, rows, title=f"discovery (version {snapshot.version})"))
    if snapshot.roles:
        roles = [[role, c.holder, c.epoch] for role, c in sorted(snapshot.roles.items())]
        console.print(Records.of(["role", "holder", Column("epoch", right=True)], roles))

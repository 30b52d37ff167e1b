"""``millionscale lb``: the running topology's load balancer and its backends, over
its admin API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from millionscale.cli._console import console
from millionscale.cli._options import StateOption
from millionscale.cli._running import running_topology
from millionscale.render import Column, Records
from millionscale.topology.state import DEFAULT_STATE_DIR

lb_app = typer.Typer(help="The load balancer: its backends, live.", no_args_is_help=True)


def _lb(state_dir: Path) -> Any:
    from millionscale.topology.admin import BALANCER, admin_client

    return admin_client(running_topology(state_dir), BALANCER)


def _print_backends(status: dict[str, Any]) -> None:
    columns: list[Column | str] = ["name", "address", "state", "serving", "ejected"]
    columns += [Column("outstanding", right=True), Column("latency", right=True)]
    rows = [
        [
            b["name"],
            b["address"],
            b["state"],
            "yes" if b["serving"] else "no",
            "yes" if b["ejected"] else "no",
            b["outstanding"],
            f"{b['latency_ms']:.1f} ms",
        ]
        for b in status.get("backends", [])
    ]
    console.print(Records.of(columns, rows, title=f"backends ({status.get('policy')})"))


@lb_app.command("status")
def lb_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Every backend: health state, ejection, load, latency (EWMA)."""
    status = _lb(state_dir).call("GET", "/backends")
    if as_json:
        print(json.dumps(status, indent=2))
    else:
        _print_backends(status)


@lb_app.command("add")
def lb_add(
    name: Annotated[str, typer.Argument(help="The backend's name.")],
    address: Annotated[str, typer.Argument(help="host:port")],
    weight: Annotated[int, typer.Option(min=1, max=256, help="Relative weight, 1 to 256.")] = 1,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Add a backend: it serves once its health checks pass, with slow start."""
    body = {"name": name, "address": address, "weight": weight}
    _print_backends(_lb(state_dir).call("POST", "/backends", body))


@lb_app.command("drain")
def lb_drain(
    name: Annotated[str, typer.Argument(help="The backend's name.")],
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Stop sending new requests to a backend; it is removed once its requests are done."""
    console.print(_lb(state_dir).call("POST", f"/backends/{name}/drain")["result"], markup=False)


@lb_app.command("remove")
def lb_remove(
    name: Annotated[str, typer.Argument(help="The backend's name.")],
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Remove a backend at once (requests in flight to it finish)."""
    _print_backends(_lb(state_dir).call("DELETE", f"/backends/{name}"))

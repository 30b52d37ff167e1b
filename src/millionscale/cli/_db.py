"""``millionscale db``: the data tier of the running topology (its PostgreSQL nodes,
their URLs and psql, and the failover monitor's switchover and failover)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from millionscale.cli._console import console
from millionscale.cli._options import StateOption
from millionscale.cli._running import running_topology
from millionscale.errors import BinaryNotFoundError, UnknownProcessError
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir
from millionscale.topology.urls import engine_host, engine_url, process_url

db_app = typer.Typer(help="The data tier: PostgreSQL primary and replicas.", no_args_is_help=True)


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Every PostgreSQL node of the running topology: role, LSN, replay lag (asked of the nodes)."""
    from millionscale.db.cluster import read_record
    from millionscale.db.status import NodeAddress, cluster_status, node_records

    topology = running_topology(state_dir)
    nodes = cluster_status(
        NodeAddress(p.name, p.address, engine_url(p))
        for p in topology.processes
        if p.engine == "postgres"
    )
    record = read_record(topology.state().cluster)
    if as_json:
        view = {"nodes": [node.to_json() for node in nodes]}
        print(json.dumps(view | {"monitor": record.to_json() if record else None}, indent=2))
        return
    console.print(node_records(nodes))
    if record is not None:
        console.print(
            f"monitor: primary {record.primary}, epoch {record.epoch}, {record.state}"
            + (f" ({record.reason})" if record.reason else ""),
            markup=False,
            highlight=False,
        )


def _database_node(
    topology: ResolvedTopology, state: StateDir, node: str | None
) -> ResolvedProcess:
    """PostgreSQL node ``node`` of ``topology``; by default the current primary (the failover
    monitor's, else the topology file's)."""
    from millionscale.topology.replication import claimed_primary, cluster_of

    nodes = [p for p in topology.processes if p.engine == "postgres"]
    if not nodes:
        raise UnknownProcessError(
            f"topology {topology.name!r} has no PostgreSQL node",
            hint="start one that has, e.g. 'millionscale up topologies/single-server.toml'",
        )
    if node is None:
        cluster = cluster_of(topology.processes)
        if cluster is not None:
            node = cluster.current_primary(claimed_primary(state.claims()))
        else:
            primaries = [p.name for p in nodes if p.replica_of is None]
            if len(primaries) > 1:
                raise UnknownProcessError(
                    f"topology {topology.name!r} has several primaries: {', '.join(primaries)}",
                    hint="name one, e.g. 'millionscale db url " + primaries[0] + "'",
                )
            node = primaries[0] if primaries else nodes[0].name
    for process in nodes:
        if process.name == node:
            return process
    raise UnknownProcessError(
        f"{node!r} is not a PostgreSQL node of topology {topology.name!r}",
        hint=f"known: {', '.join(p.name for p in nodes)}",
    )


@db_app.command("url")
def db_url(
    node: Annotated[
        str | None, typer.Argument(help="The node (default: the current primary).")
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Print a node's connection URL, password included, for your own tools."""
    state = StateDir(state_dir)
    process = _database_node(running_topology(state_dir), state, node)
    print(process_url(process))


def _psql() -> str:
    """psql of the PostgreSQL installation the topology runs on, else the one on PATH."""
    from millionscale.servers.binaries import find_bindir

    try:
        candidate = find_bindir("postgres") / "psql"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    except BinaryNotFoundError:
        pass
    found = shutil.which("psql")
    if found is None:
        raise BinaryNotFoundError(
            "psql not found",
            hint="install the PostgreSQL client (apt-get install postgresql-client)",
        )
    return found


@db_app.command("psql")
def db_psql(
    node: Annotated[
        str | None, typer.Argument(help="The node (default: the current primary).")
    ] = None,
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Run this SQL and exit.")
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Open psql on a node (the password goes in PGPASSWORD, never on the command line)."""
    state = StateDir(state_dir)
    process = _database_node(running_topology(state_dir), state, node)
    from millionscale.servers.engines import PostgresEngine

    engine = PostgresEngine()
    host = engine_host(process)  # its socket directory when it runs on a host
    target = f"host={host} port={process.ports['main']} user={engine.user} dbname=postgres"
    argv = [_psql(), target, *(["-c", command] if command is not None else [])]
    env = os.environ | {"PGPASSWORD": process.secret, "PGAPPNAME": "millionscale db psql"}
    sys.stdout.flush()
    os.execve(argv[0], argv, env)


def _print_record(result: dict[str, object]) -> None:
    record = result.get("record")
    if isinstance(record, dict):
        console.print(
            f"primary {record.get('primary')} (epoch {record.get('epoch')}): {record.get('reason')}",
            markup=False,
            highlight=False,
        )


@db_app.command("switchover")
def db_switchover(
    to: Annotated[
        str | None, typer.Option("--to", help="The standby to promote (default: the best one).")
    ] = None,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Planned switchover: drain the primary, let the standby catch up, promote it (no write lost)."""
    _print_record(_monitor_control(state_dir).switchover(to))


@db_app.command("failover")
def db_failover(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Forced failover: fence the primary now, whatever it answers, and promote a standby."""
    control = _monitor_control(state_dir)
    if not yes:
        typer.confirm("Fence the primary now and promote a standby?", abort=True)
    _print_record(control.failover())


def _monitor_control(state_dir: Path) -> Any:
    """The running topology's failover monitor, over its admin API (the topology's token)."""
    from millionscale.db.control import MonitorControl
    from millionscale.topology.admin import FAILOVER_MONITOR, admin_client

    topology = running_topology(state_dir)
    return MonitorControl(admin_client(topology, FAILOVER_MONITOR))

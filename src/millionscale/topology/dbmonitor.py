"""The failover monitor as a process of a topology: its arguments, from the topology.

    python -m millionscale.topology.dbmonitor STATE_DIR --port PORT [MONITOR OPTIONS]

:mod:`millionscale.db.monitor` runs on any set of PostgreSQL nodes and knows
nothing of ``millionscale up``. This launcher, run by the supervisor, gives it
what a topology knows, then replaces itself with it (``exec``: the supervisor's
child is the monitor, signals and all):

- the nodes: the topology's replicated cluster, written as a discovery
  snapshot (members of tier ``db``, role ``primary`` or ``replica`` as the
  topology file starts them) to ``db-nodes.json`` in the topology's home;
- the cluster record: ``db-cluster.json`` in the topology's home;
- the fencer: :func:`millionscale.topology.fencing.local_fencer` on this state
  directory (kills by pid and start time);
- the admin token file, the commit rule (``synchronous``, ``durability``) and
  the password (``PGPASSWORD``: the cluster's replicas share their primary's).

Every other option is handed to the monitor as given. This module imports
nothing of :mod:`millionscale.db`: the seam between the two is a command line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from millionscale.discovery import Member, Snapshot
from millionscale.obs.admin import create_token
from millionscale.topology.replication import ReplicatedCluster, cluster_of
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir, write_private

__all__ = ["main", "monitor_argv", "nodes_snapshot"]

MONITOR_MODULE = "millionscale.db.monitor"


def nodes_snapshot(cluster: ReplicatedCluster) -> Snapshot:
    """The cluster's nodes as discovery lists them for the monitor."""
    return Snapshot(
        1,
        tuple(
            Member(
                name=name,
                tier="db",
                host=process.host,
                ports={"main": process.ports["main"]},
                role="primary" if name == cluster.primary else "replica",
            )
            for name, process in cluster.members.items()
        ),
    )


def monitor_argv(
    state: StateDir, cluster: ReplicatedCluster, nodes: Path, rest: list[str]
) -> list[str]:
    """The monitor's command line for ``cluster`` of the topology running on ``state``."""
    return [
        sys.executable,
        "-m",
        MONITOR_MODULE,
        "--discovery",
        f"file:{nodes}",
        "--record",
        str(state.cluster),
        "--fence",
        f"millionscale.topology.fencing:local_fencer={state.root}",
        "--token-file",
        str(state.admin_token_file),
        "--synchronous",
        str(cluster.synchronous),
        "--durability",
        cluster.durability,
        *rest,
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-"):
        print(
            "usage: python -m millionscale.topology.dbmonitor STATE_DIR --port PORT [OPTIONS]",
            file=sys.stderr,
        )
        return 2
    path = StateDir(Path(args[0])).topology
    try:
        topology = ResolvedTopology.read(path)
    except (OSError, ValueError) as error:  # pydantic's ValidationError is a ValueError
        print(f"error: cannot read the resolved topology {path}: {error}", file=sys.stderr)
        return 2
    state = topology.state()
    cluster = cluster_of(topology.processes)
    if cluster is None:
        print(
            "error: the topology has no PostgreSQL primary with replicas: nothing to monitor",
            file=sys.stderr,
        )
        return 2
    nodes = state.home().root / "db-nodes.json"
    write_private(nodes, nodes_snapshot(cluster).dumps() + "\n")
    create_token(state.admin_token_file)  # up made it; kept as it is if so
    env = {**os.environ, "PGPASSWORD": cluster.members[cluster.primary].secret}
    command = monitor_argv(state, cluster, nodes, args[1:])
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    raise SystemExit(main())

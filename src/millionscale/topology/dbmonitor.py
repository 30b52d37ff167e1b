"""The failover monitor as a process of a topology: its arguments, from the topology.

    python -m millionscale.topology.dbmonitor STATE_DIR --port PORT [MONITOR OPTIONS]

:mod:`millionscale.db.monitor` runs on any set of PostgreSQL nodes and knows
nothing of ``millionscale up``. This launcher, run by the supervisor, gives it
what a topology knows, then replaces itself with it (``exec``: the supervisor's
child is the monitor, signals and all):

- the discovery source: the supervisor's control endpoint (``unix:`` its
  socket, with the admin token through
  :data:`~millionscale.discovery.TOKEN_FILE_ENV`). The monitor finds its nodes
  there (the members of tier ``db``, in the role the last ``db/primary``
  claim gave them) and claims ``db/primary`` there with each record, which is
  how the supervisor learns who the primary is;
- the cluster record: ``db-cluster.json`` in the topology's home (the
  monitor's own: the supervisor never reads it);
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

from millionscale.discovery import TOKEN_FILE_ENV
from millionscale.obs.admin import create_token
from millionscale.topology.replication import ReplicatedCluster, cluster_of
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir, control_socket_for

__all__ = ["main", "monitor_argv"]

MONITOR_MODULE = "millionscale.db.monitor"


def monitor_argv(state: StateDir, cluster: ReplicatedCluster, rest: list[str]) -> list[str]:
    """The monitor's command line for ``cluster`` of the topology running on ``state``."""
    return [
        sys.executable,
        "-m",
        MONITOR_MODULE,
        "--discovery",
        f"unix:{control_socket_for(state.root)}",
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
    create_token(state.admin_token_file)  # up made it; kept as it is if so
    env = {
        **os.environ,
        "PGPASSWORD": cluster.members[cluster.primary].secret,
        TOKEN_FILE_ENV: str(state.admin_token_file),
    }
    command = monitor_argv(state, cluster, args[1:])
    os.execve(sys.executable, command, env)


if __name__ == "__main__":
    raise SystemExit(main())

"""A topology's PostgreSQL cluster: its members, and the monitor's record of its primary.

The topology file says how the cluster starts (``db`` primary, ``db-r1`` and
``db-r2`` with ``replica_of = "db"``); after a failover the truth is the
monitor's :class:`~millionscale.db.failover.ClusterRecord`, kept in
``.millionscale/db-cluster.json``. The supervisor reads it each time it
starts a member, so a node always starts in the role the monitor gave it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from millionscale.db.failover import ClusterRecord, ClusterSpec
from millionscale.db.promotion import Durability
from millionscale.errors import DatabaseError
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.state import StateDir, write_private

__all__ = ["Cluster", "cluster_of", "read_record", "write_record"]


@dataclass(frozen=True, slots=True)
class Cluster:
    """The members of one replicated PostgreSQL cluster, in the topology's terms."""

    primary: str  # as the topology file starts it
    members: dict[str, ResolvedProcess]
    synchronous: int
    durability: Durability

    def spec(self, **timeouts: float) -> ClusterSpec:
        return ClusterSpec(
            members={name: p.address for name, p in self.members.items()},
            synchronous=self.synchronous,
            durability=self.durability,
            **timeouts,
        )

    def current_primary(self, record: ClusterRecord | None) -> str:
        """The primary now: the monitor's, else (before its first record, or a record
        naming a node this topology no longer has) the topology file's."""
        if record is not None and record.primary in self.members:
            return record.primary
        return self.primary

    def synchronous_standby_names(self, node: str) -> str | None:
        """The setting ``node`` carries whatever its role: ANY k of every other member.

        On a standby it is ignored; the day it is promoted, it is right.
        """
        if not self.synchronous:
            return None
        others = ", ".join(f'"{name}"' for name in sorted(self.members) if name != node)
        return f"ANY {self.synchronous} ({others})"


def cluster_of(
    topology: ResolvedTopology | Iterable[ResolvedProcess], member: str | None = None
) -> Cluster | None:
    """The replicated cluster ``member`` belongs to (the first one when ``None``), if any."""
    every = topology.processes if isinstance(topology, ResolvedTopology) else topology
    processes = {p.name: p for p in every if p.engine == "postgres"}
    for primary in processes.values():
        if primary.replica_of is not None:
            continue
        replicas = {n: p for n, p in processes.items() if p.replica_of == primary.name}
        if not replicas:
            continue
        members = {primary.name: primary, **replicas}
        if member is None or member in members:
            return Cluster(
                primary.name,
                members,
                primary.synchronous,
                cast(Durability, primary.durability),
            )
    return None


def read_record(state: StateDir) -> ClusterRecord | None:
    """The monitor's record, or None before the first one."""
    try:
        data = json.loads(state.cluster.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as error:
        raise DatabaseError(
            f"cannot read {state.cluster}: {error}", hint="delete it to start from the topology"
        ) from None
    try:
        return ClusterRecord.from_json(data)
    except (ValueError, TypeError, AttributeError) as error:
        raise DatabaseError(
            f"{state.cluster} is not a cluster record: {error}",
            hint="delete it to start from the topology",
        ) from None


def write_record(path: Path, record: ClusterRecord) -> None:
    """Replace the record atomically (readers see the old or the new one, whole)."""
    write_private(path, json.dumps(record.to_json(), indent=2) + "\n", 0o644)

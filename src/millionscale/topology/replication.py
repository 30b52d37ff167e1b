"""A topology's replicated PostgreSQL cluster, in the topology's own terms.

The topology file says how a cluster starts (``db`` primary, ``db-r1`` and
``db-r2`` with ``replica_of = "db"``). After a failover the truth is the
failover monitor's cluster record (``db-cluster.json`` in the topology's
home): the supervisor reads it each time it starts a member, so a node always
starts in the role the monitor gave it.

This module knows one thing of that record: its ``"primary"`` field, the name
of the node that is primary now. The rest of the record (epoch, state) is the
data tier's (:mod:`millionscale.db.failover`); the supervisor neither reads nor
writes it, so the data tier can run under another supervisor, and this one
under another failover manager that writes the same field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from millionscale.errors import SupervisorError
from millionscale.topology.resolve import ResolvedProcess

__all__ = ["ReplicatedCluster", "cluster_of", "recorded_primary"]


@dataclass(frozen=True, slots=True)
class ReplicatedCluster:
    """The members of one replicated PostgreSQL cluster of a topology."""

    primary: str  # as the topology file starts it
    members: dict[str, ResolvedProcess]
    synchronous: int  # commits wait for ANY k of the other members
    durability: str  # "strict" or "available"

    def current_primary(self, recorded: str | None) -> str:
        """The primary now: the record's, else (before its first record, or a record
        naming a node this topology no longer has) the topology file's."""
        if recorded is not None and recorded in self.members:
            return recorded
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
    processes: Iterable[ResolvedProcess], member: str | None = None
) -> ReplicatedCluster | None:
    """The replicated cluster ``member`` belongs to (the first one when ``None``), if any."""
    postgres = {p.name: p for p in processes if p.engine == "postgres"}
    for primary in postgres.values():
        if primary.replica_of is not None:
            continue
        replicas = {n: p for n, p in postgres.items() if p.replica_of == primary.name}
        if not replicas:
            continue
        members = {primary.name: primary, **replicas}
        if member is None or member in members:
            return ReplicatedCluster(primary.name, members, primary.synchronous, primary.durability)
    return None


def recorded_primary(path: Path) -> str | None:
    """The ``"primary"`` of the cluster record at ``path``; None before the first record.

    A record that cannot be read is an error, never "no record": starting the
    topology file's primary beside the monitor's would be two primaries.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SupervisorError(
            f"cannot read {path}: {error}", hint="delete it to start from the topology"
        ) from None
    primary = data.get("primary") if isinstance(data, dict) else None
    if not isinstance(primary, str) or not primary:
        raise SupervisorError(
            f"{path} is not a cluster record: it names no primary",
            hint="delete it to start from the topology",
        )
    return primary

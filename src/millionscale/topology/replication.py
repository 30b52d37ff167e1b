"""A topology's replicated PostgreSQL cluster, in the topology's own terms.

The topology file says how a cluster starts (``db`` primary, ``db-r1`` and
``db-r2`` with ``replica_of = "db"``). After a failover the truth is the
failover monitor's claim of the role ``db/primary`` (:data:`PRIMARY_CLAIM`),
made to the supervisor's discovery and kept by it across runs
(:class:`~millionscale.topology.live.LiveView`): the supervisor reads it each
time it starts a member, so a node always starts in the role the monitor gave
it, and lists every member in that role.

The role's name is the whole seam: this module reads no file of the data
tier's (its cluster record is the monitor's own), so the data tier can run
under another supervisor, and this one under any failover manager that claims
the role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from millionscale.discovery import RoleClaim
from millionscale.topology.resolve import ResolvedProcess

__all__ = ["PRIMARY_CLAIM", "ReplicatedCluster", "claimed_primary", "cluster_of"]

# The role the failover monitor claims (millionscale.db.cluster.PRIMARY_ROLE; a test
# holds the two equal, since neither package imports the other).
PRIMARY_CLAIM = "db/primary"


@dataclass(frozen=True, slots=True)
class ReplicatedCluster:
    """The members of one replicated PostgreSQL cluster of a topology."""

    primary: str  # as the topology file starts it
    members: dict[str, ResolvedProcess]
    synchronous: int  # commits wait for ANY k of the other members
    durability: str  # "strict" or "available"

    def current_primary(self, claimed: str | None) -> str:
        """The primary now: the claimed one, else (before the first claim, or a claim
        naming a node this topology no longer has) the topology file's."""
        if claimed is not None and claimed in self.members:
            return claimed
        return self.primary

    def roles(self, claimed: str | None) -> dict[str, str]:
        """Each member's role now: ``primary`` or ``replica``."""
        primary = self.current_primary(claimed)
        return {name: "primary" if name == primary else "replica" for name in self.members}

    def depends_on(self, process: ResolvedProcess, claimed: str | None) -> list[str]:
        """Whom ``process`` waits for before it starts, once the cluster has a claimed
        primary: a member waits for the primary now, not for the topology file's (which
        after a failover is a standby that needs the new primary to start: waiting for
        it would wait for ever); anyone else as the file says."""
        if process.name not in self.members:
            return list(process.depends_on)
        primary = self.current_primary(claimed)
        kept = [d for d in process.depends_on if d not in self.members]
        return kept if process.name == primary else [*kept, primary]

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


def claimed_primary(roles: Mapping[str, RoleClaim]) -> str | None:
    """Who holds :data:`PRIMARY_CLAIM` among ``roles`` (a snapshot's), if anyone."""
    claim = roles.get(PRIMARY_CLAIM)
    return claim.holder if claim is not None else None

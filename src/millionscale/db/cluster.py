"""The PostgreSQL cluster a failover monitor keeps, and its record of the primary.

The members come from :mod:`millionscale.discovery`: the members of tier
``db`` whose configured role is ``primary`` or ``replica``, their addresses,
and the ``db/primary`` role claim when one is in force. Nothing here knows who
started the nodes (``millionscale up``, systemd, Kubernetes, a test): the data
tier stands on its own.

After a failover the truth is the monitor's
:class:`~millionscale.db.failover.ClusterRecord`, kept in a JSON file whose
path the caller gives (``db-cluster.json`` in a topology's home under
``millionscale up``). Its ``"primary"`` field is the contract with whoever
restarts the nodes: a node restarted is a standby of that primary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from millionscale.db.failover import ClusterRecord, ClusterSpec
from millionscale.db.membership import NODE_ROLES, PRIMARY_ROLE
from millionscale.db.promotion import Durability
from millionscale.discovery import Snapshot
from millionscale.errors import DatabaseError
from millionscale.servers.engines import Endpoint, PostgresEngine

__all__ = ["PRIMARY_ROLE", "Cluster", "Node", "cluster_from", "read_record", "write_record"]


@dataclass(frozen=True, slots=True)
class Node:
    """One PostgreSQL server of the cluster: where to reach it."""

    name: str
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Cluster:
    """The members of one replicated PostgreSQL cluster and its commit rule.

    ``primary`` is the node that starts as primary when there is no record yet
    (the ``db/primary`` claim in force, else the member configured ``primary``).
    ``password`` opens every node (a cluster's replicas share their primary's);
    it goes into the standbys' ``primary_conninfo`` when they are re-pointed.
    """

    primary: str
    nodes: dict[str, Node]
    synchronous: int = 0
    durability: Durability = "strict"
    password: str = ""

    def spec(self, **timeouts: float) -> ClusterSpec:
        return ClusterSpec(
            members={name: node.address for name, node in self.nodes.items()},
            synchronous=self.synchronous,
            durability=self.durability,
            **timeouts,
        )

    def endpoint(self, name: str) -> Endpoint:
        node = self.nodes[name]
        return Endpoint(node.host, {"main": node.port}, self.password)

    def url(self, name: str) -> str:
        """The client URL of node ``name``, password included."""
        return PostgresEngine().url(self.endpoint(name))


def cluster_from(
    snapshot: Snapshot,
    *,
    tier: str = "db",
    synchronous: int = 0,
    durability: Durability = "strict",
    password: str = "",
) -> Cluster:
    """The cluster discovery describes: the ``primary`` and ``replica`` members of ``tier``.

    Raises :class:`DatabaseError` when there are not two such members, or when
    no single one is the primary (by claim or configuration).
    """
    members = [m for m in snapshot.tier(tier) if m.role in NODE_ROLES]
    if len(members) < 2:
        raise DatabaseError(
            f"discovery lists {len(members)} PostgreSQL node(s) in tier {tier!r}; "
            "a failover monitor needs a primary and at least one replica",
            hint=f"list members of tier {tier!r} with role 'primary' or 'replica'",
        )
    nodes = {m.name: Node(m.name, m.host, _port(m.ports, m.name)) for m in members}
    claim = snapshot.roles.get(PRIMARY_ROLE)
    if claim is not None and claim.holder in nodes:
        primary = claim.holder
    else:
        configured = [m.name for m in members if m.role == "primary"]
        if len(configured) != 1:
            raise DatabaseError(
                f"tier {tier!r} has {len(configured)} members with role 'primary' "
                f"({', '.join(configured) or 'none'}) and no {PRIMARY_ROLE} claim",
                hint="give exactly one member role 'primary', the others 'replica'",
            )
        primary = configured[0]
    if not 0 <= synchronous <= len(nodes) - 1:
        raise DatabaseError(
            f"synchronous = {synchronous}: commits cannot wait for ANY {synchronous} of "
            f"the {len(nodes) - 1} replicas discovery lists",
            hint="give 0 (asynchronous) up to the number of replicas",
        )
    return Cluster(primary, nodes, synchronous, durability, password)


def _port(ports: Mapping[str, int], name: str) -> int:
    main = ports.get("main")
    if main is None:
        raise DatabaseError(
            f"discovery gives {name} no 'main' port", hint="name its PostgreSQL port 'main'"
        )
    return main


def read_record(path: Path) -> ClusterRecord | None:
    """The monitor's record at ``path``, or None before the first one."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatabaseError(
            f"cannot read {path}: {error}", hint="delete it to start from the topology"
        ) from None
    try:
        return ClusterRecord.from_json(data)
    except (ValueError, TypeError, AttributeError) as error:
        raise DatabaseError(
            f"{path} is not a cluster record: {error}",
            hint="delete it to start from the topology",
        ) from None


def write_record(path: Path, record: ClusterRecord) -> None:
    """Replace the record atomically (readers see the old or the new one, whole)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(record.to_json(), indent=2) + "\n")
    os.replace(tmp, path)

"""Who the router's nodes are, from Discovery: a pure reconciler.

:func:`reconcile` takes the nodes a router has (:class:`Present`: a name and
an address), a :class:`~millionscale.discovery.Snapshot`, the tier to follow
and the node the router takes for the primary, and returns a :class:`Plan`:
the decisions (:class:`AddNode`, :class:`RemoveNode`), in order, each with
its sentence. The router applies them each time discovery changes, and again
every ``RECONCILE_S`` (a primary held back is removed once it is no longer
the primary). :func:`first_primary` is where the router starts looking for
the primary.

The rules:

- **Discovery says who exists; the router's own checks say who serves, and
  who is the primary.** A member of the tier is a node when its role is
  ``primary`` or ``replica`` (:data:`NODE_ROLES`; a failover monitor may sit
  in the same tier), it has the PostgreSQL port (``main``), and it is not
  leaving (health ``stopping``, ``stopped`` or ``failed``, :data:`~millionscale.discovery.LEAVING`). A
  member that is ``starting`` or ``unready`` is a node too: it starts out of
  rotation and serves once a check passes, and a node that restarts (a
  standby rejoining after a failover) stays in the router meanwhile. Which of
  ``primary`` and ``replica`` a member says it is decides nothing but where
  the router starts looking (:func:`first_primary`).
- **A node whose member is gone from the tier, leaving it, or no longer a
  node there, is removed**: no new request enters it, and its pool is closed
  once the requests in flight end (the router's part).
- **A node whose member moved to another address is replaced**: removed at
  the old address and added under the same name at the new one, out of
  rotation until a check passes there.
- **The node the router takes for the primary is not removed while it is
  one** (:attr:`Plan.held` says why): who the primary is, is the router's own
  checks' call (``pg_is_in_recovery()``, the highest timeline), not
  discovery's. It is removed by the first reconcile after another node
  answers as the primary. A primary that moved is replaced like any node.

Pure: no I/O, no clock; the same inputs give the same plan, and applying a
plan then reconciling again gives no decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from millionscale.discovery import LEAVING, Member, Snapshot

__all__ = [
    "NODE_ROLES",
    "PRIMARY_ROLE",
    "RECONCILE_S",
    "AddNode",
    "Decision",
    "Plan",
    "Present",
    "RemoveNode",
    "first_primary",
    "nodes_of",
    "reconcile",
]

# Health a member has while it leaves or once it left (the balancer's rule too,
NODE_ROLES = ("primary", "replica")  # configured roles of PostgreSQL nodes in discovery
PRIMARY_ROLE = "db/primary"  # the role claim the failover monitor makes, with its epoch
# Ours: how often the router reconciles with no new snapshot (a primary held back is
# removed this long, at most, after another node became the primary). A pass over dicts.
RECONCILE_S = 0.5


@dataclass(frozen=True, slots=True)
class Present:
    """A node the router has, as the reconciler sees it."""

    name: str
    address: str  # host:port


@dataclass(frozen=True, slots=True)
class AddNode:
    """Make a node ``name`` at ``host:port``: out of rotation until a check passes."""

    name: str
    host: str
    port: int
    reason: str
    datacenter: str = "local"  # where its member stands (discovery's default, as there)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RemoveNode:
    """Take node ``name`` out of the router: nothing new enters it; closed once idle."""

    name: str
    reason: str


Decision = AddNode | RemoveNode


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do, in order; and the nodes kept though their members left (``held``:
    the primary, name -> why), removed once they no longer are the primary."""

    decisions: tuple[Decision, ...] = ()
    held: Mapping[str, str] = field(default_factory=dict)


def nodes_of(snapshot: Snapshot, tier: str, *, port: str = "main") -> dict[str, Member]:
    """The members of ``tier`` that are nodes (see the rules), by name, in the
    snapshot's order."""
    return {
        m.name: m
        for m in snapshot.tier(tier)
        if m.role in NODE_ROLES and m.health not in LEAVING and port in m.ports
    }


def first_primary(snapshot: Snapshot, names: Iterable[str]) -> str | None:
    """Which of the nodes ``names`` to take for the primary before any check: the
    holder of the ``db/primary`` claim, else the only one whose member says
    ``primary``, else the first; None when there is no node. A hint only: the
    router's checks elect the primary."""
    names = list(names)
    claim = snapshot.roles.get(PRIMARY_ROLE)
    if claim is not None and claim.holder in names:
        return claim.holder
    configured = [
        name
        for name in names
        if (member := snapshot.member(name)) is not None and member.role == "primary"
    ]
    if len(configured) == 1:
        return configured[0]
    return names[0] if names else None


def reconcile(
    nodes: Iterable[Present],
    snapshot: Snapshot,
    tier: str,
    *,
    primary: str | None,
    port: str = "main",
) -> Plan:
    """The decisions that bring ``nodes`` to ``snapshot``'s nodes of ``tier``.

    ``primary`` is the node the router takes for the primary now (None before
    it has one); ``port`` names the members' PostgreSQL port.
    """
    wanted = nodes_of(snapshot, tier, port=port)
    present = {node.name: node for node in nodes}
    decisions: list[Decision] = []
    held: dict[str, str] = {}
    for node in present.values():
        member = wanted.get(node.name)
        if member is None:
            why = _gone(node.name, snapshot.member(node.name), tier, port)
            if node.name == primary:
                held[node.name] = (
                    f"{why}, but the router takes it for the primary: "
                    "kept until another node answers as the primary"
                )
            else:
                decisions.append(RemoveNode(node.name, f"{why}: removed"))
            continue
        address = member.address(port)
        if address != node.address:
            moved = f"{node.name} moved from {node.address} to {address}"
            decisions.append(RemoveNode(node.name, f"{moved}: removed at {node.address}"))
            decisions.append(_add(member, port, f"{moved}: added at {address}"))
    for name, member in wanted.items():
        if name not in present:
            where = f"{name} ({member.role}) is in the {tier} tier at {member.address(port)}"
            decisions.append(_add(member, port, f"{where}: added"))
    return Plan(tuple(decisions), held)


def _add(member: Member, port: str, reason: str) -> AddNode:
    return AddNode(
        member.name,
        member.host,
        member.ports[port],
        f"{reason}, out of rotation until a check passes",
        member.datacenter,
    )


def _gone(name: str, member: Member | None, tier: str, port: str) -> str:
    """Why the node ``name`` is no node any more (a sentence without its verdict)."""
    if member is None or member.tier != tier:
        return f"{name} left the {tier} tier"
    if member.health in LEAVING:
        return f"{name} is {member.health}"
    if member.role not in NODE_ROLES:
        return f"{name} is no longer a primary or a replica (role {member.role!r})"
    return f"{name} has no {port!r} port"

"""Who the backends are, from Discovery: a pure reconciler.

:func:`reconcile` takes the backends a balancer has (:class:`Present`), a
:class:`~millionscale.discovery.Snapshot` and the tier to follow, and returns
a :class:`Plan`: the decisions (:class:`Add`, :class:`Drain`,
:class:`Remove`), each with its sentence, and the members it now follows.
The balancer's membership task applies them through ``Balancer.add``,
``drain`` and ``remove`` each time discovery changes, and again every
``RECONCILE_S`` (a backend moved to a new address is re-added once its old
self is gone).

The rules:

- **Discovery says who exists; the balancer's own checks say who serves.** A
  member of the tier that is ``ready`` and not a backend yet is added (one
  there at the balancer's start serves at once, ``initial``; a later one
  after passing its checks, then with slow start). A member that is
  ``starting`` or ``unready`` is not added until it is ready; a backend whose
  member turns ``unready`` stays: its failing checks take it out, as they
  would without discovery.
- **A member gone from the tier, or leaving it** (health ``stopping``,
  ``stopped`` or ``failed``), **or moved to another address, is drained**:
  no new request goes to it, and it is removed once nothing is in flight
  (:class:`Remove` at once when nothing is; the balancer's drain deadline
  bounds the wait otherwise). A member that comes back is added again.
- **What an operator did stands.** A followed backend drained or removed
  through the admin API is not added back while its member stays as it is;
  a backend added through the admin API under a name discovery does not know
  is left alone. ``followed`` (names to addresses) carries that memory from
  one plan to the next.

Pure: no I/O, no clock; the same inputs give the same plan, and applying a
plan then reconciling again gives no decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from millionscale.discovery import LEAVING, Member, Snapshot

__all__ = [
    "RECONCILE_S",
    "Add",
    "Decision",
    "Drain",
    "Plan",
    "Present",
    "Remove",
    "reconcile",
]

# Ours: how often the membership task reconciles with no new snapshot (a moved backend is
# re-added this long, at most, after its old self was removed). Cheap: a pass over dicts.
RECONCILE_S = 0.5


@dataclass(frozen=True, slots=True)
class Present:
    """A backend the balancer has, as the reconciler sees it."""

    name: str
    address: str  # host:port
    draining: bool = False
    outstanding: int = 0


@dataclass(frozen=True, slots=True)
class Add:
    name: str
    host: str
    port: int
    initial: bool
    reason: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Drain:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Remove:
    name: str
    reason: str


Decision = Add | Drain | Remove


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do, in order; the members followed once it is done (name -> address), and
    the backends being drained because their members left (removed once idle)."""

    decisions: tuple[Decision, ...] = ()
    followed: Mapping[str, str] = field(default_factory=dict)
    leaving: frozenset[str] = frozenset()


def reconcile(
    backends: Iterable[Present],
    snapshot: Snapshot,
    tier: str,
    *,
    followed: Mapping[str, str] | None = None,
    leaving: frozenset[str] = frozenset(),
    initial: bool = False,
    port: str = "main",
    datacenter: str | None = None,
) -> Plan:
    """The decisions that bring ``backends`` to ``snapshot``'s members of ``tier``.

    ``followed`` and ``leaving`` are the previous plan's (empty at the start); ``initial`` says
    the balancer is starting (members added now serve at once); ``port`` is
    the name of the members' port to balance to (a member without it is not
    a backend); ``datacenter``, when given, keeps the members that stand there
    only (one elsewhere is as one that left the tier).
    """
    was = dict(followed or {})
    members = {
        m.name: m for m in snapshot.tier(tier) if datacenter is None or m.datacenter == datacenter
    }
    wanted = {name: m for name, m in members.items() if m.health not in LEAVING and port in m.ports}
    now: dict[str, str] = {}
    going: set[str] = set()
    decisions: list[Decision] = []
    present = {b.name: b for b in backends}
    for backend in present.values():
        member = members.get(backend.name)
        if backend.name not in was and backend.name not in leaving and member is None:
            continue  # the operator's own backend
        why = _leaving(backend, member, wanted.get(backend.name), tier, port)
        if why is None:
            now[backend.name] = backend.address
        elif backend.outstanding == 0:
            decisions.append(Remove(backend.name, f"{why}: nothing in flight, removed"))
        else:
            going.add(backend.name)
            if not backend.draining:
                decisions.append(Drain(backend.name, f"{why}: draining"))
    for name, member in wanted.items():
        address = member.address(port)
        if name in present or not member.ready:
            continue
        if was.get(name) == address:
            now[name] = address  # followed, and the operator took it out: it stays out
            continue
        decisions.append(
            Add(
                name,
                member.host,
                member.ports[port],
                initial,
                f"{name} is ready in the {tier} tier at {address}: added",
            )
        )
        now[name] = address
    return Plan(tuple(decisions), now, frozenset(going))


def _leaving(
    backend: Present, member: Member | None, wanted: Member | None, tier: str, port: str
) -> str | None:
    """Why ``backend`` must go (a sentence), or None if its member still stands."""
    if member is None:
        return f"{backend.name} left the {tier} tier"
    if member.health in LEAVING:
        return f"{backend.name} is {member.health}"
    if wanted is None:
        return f"{backend.name} has no {port!r} port"
    address = wanted.address(port)
    if address != backend.address:
        return f"{backend.name} moved from {backend.address} to {address}"
    return None

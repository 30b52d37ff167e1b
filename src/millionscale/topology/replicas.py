"""``replicas = N``: one process of the topology file run as N alike.

A replicated process ``web`` is a set of processes ``web-1`` ... ``web-N``;
:func:`expand` turns a topology file into the processes it runs (resolution
does, before anything else), and :func:`replica` gives any one of them, the
``index``-th, for a set that grows while it runs (``millionscale scale``).
Both are pure.

- Each replica is the replicated process's spec under its own name: its
  placeholders (``{name}``, ``{host}``, ``{port}``, ``{secret}``) are rendered
  for it alone.
- If the replicated process names a host, that host is a template: replica
  ``NAME-i`` runs on host ``HOST-i`` of the template's size, network and data
  center, and the template is not a host of its own.
- A process that depends on ``NAME`` depends on every replica of the file.
  Nobody can use ``{NAME.address}`` (the model refuses it: there is no one
  ``NAME``), and engines cannot be replicated (a replicated database is made
  with ``replica_of``).

The model (:class:`~millionscale.topology.model.Topology`) refuses what
cannot be expanded: a replica's name taken by another process, a host made
from the template taken by another host, a template another process runs on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from millionscale.errors import TopologyError
from millionscale.topology.model import HostSpec, ProcessSpec, Topology

__all__ = ["Expansion", "Replica", "expand", "replica", "replica_name"]


def replica_name(name: str, index: int) -> str:
    """The name of replica ``index`` (from 1) of ``name``: ``web-3``."""
    return f"{name}-{index}"


@dataclass(frozen=True, slots=True)
class Replica:
    """One replica of a replicated process, as it runs."""

    of: str  # the replicated process in the file
    index: int  # from 1
    name: str
    spec: ProcessSpec  # replicas None, host its own, dependencies expanded
    host: str | None  # the host made for it from the template (None: the process names none)
    host_spec: HostSpec | None


@dataclass(frozen=True, slots=True)
class Expansion:
    """A topology file with every replicated process made its replicas."""

    topology: Topology  # no process has replicas; no host is a template
    replicas: Mapping[str, Replica]  # by replica name


def _dependencies(topology: Topology, spec: ProcessSpec) -> list[str]:
    """``spec``'s depends_on, each replicated process standing for all its replicas."""
    out: list[str] = []
    for dep in spec.depends_on:
        count = topology.processes[dep].replicas
        out += [replica_name(dep, i) for i in range(1, count + 1)] if count else [dep]
    return out


def replica(topology: Topology, name: str, index: int) -> Replica:
    """Replica ``index`` of the replicated process ``name`` of ``topology`` (the file's).

    ``index`` may exceed the file's count: a set scaled up while it runs.
    Raises :class:`TopologyError` if ``name`` is not a replicated process.
    """
    spec = topology.processes.get(name)
    if spec is None or spec.replicas is None:
        raise TopologyError(
            f"{name} is not a replicated process of the topology file",
            hint=f"give processes.{name} 'replicas = N'",
        )
    if index < 1:
        raise ValueError(f"replica indices start at 1, not {index}")
    host = replica_name(spec.host, index) if spec.host is not None else None
    made = spec.model_copy(
        update={"replicas": None, "host": host, "depends_on": _dependencies(topology, spec)}
    )
    host_spec = topology.hosts[spec.host] if spec.host is not None else None
    return Replica(name, index, replica_name(name, index), made, host, host_spec)


def expand(topology: Topology) -> Expansion:
    """``topology`` as it runs: each replicated process made its replicas, in its place in
    the file's order, and each template host made the replicas' hosts.

    Raises :class:`TopologyError` if the expanded topology is not a valid one
    (the model refuses what it can see before; this is the last word).
    """
    replicated = {n: s for n, s in topology.processes.items() if s.replicas is not None}
    if not replicated:
        return Expansion(topology, {})
    replicas: dict[str, Replica] = {}
    processes: dict[str, ProcessSpec] = {}
    for name, spec in topology.processes.items():
        if spec.replicas is None:
            processes[name] = spec.model_copy(update={"depends_on": _dependencies(topology, spec)})
            continue
        for index in range(1, spec.replicas + 1):
            one = replica(topology, name, index)
            replicas[one.name] = one
            processes[one.name] = one.spec
    of_template = {
        s.host: [r for r in replicas.values() if r.of == n]
        for n, s in replicated.items()
        if s.host is not None
    }
    hosts: dict[str, HostSpec] = {}
    for name, host in topology.hosts.items():  # the replicas' hosts in their template's place
        if name not in of_template:
            hosts[name] = host
            continue
        hosts |= {r.host: host for r in of_template[name] if r.host is not None}
    try:
        expanded = Topology.model_validate(
            {"topology": topology.topology, "hosts": hosts, "processes": processes}
        )
    except ValidationError as error:
        message = str(error.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
        raise TopologyError(
            f"its replicas make a topology that is not valid: {message}",
            hint="rename the process or host the message names",
        ) from None
    return Expansion(expanded, replicas)

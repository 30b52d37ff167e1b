"""Dependency order: who starts first, who stops first, and cycles.

Processes start in dependency order (a process after everything it depends
on) and stop in the reverse order. Ties keep the order of the file, so the
same file always starts the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from millionscale.errors import TopologyError
from millionscale.topology.model import Topology

__all__ = ["dependents", "find_cycle", "start_order", "topological_order"]


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, ..., a]``, or None if there is none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def topological_order(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with every dependency before its dependents; file order breaks ties.

    Raises :class:`TopologyError` naming the cycle if there is one.
    """
    for node, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                raise TopologyError(
                    f"{node} depends on {dep!r}, which is not a process",
                    hint="fix the name in depends_on, or add the process",
                )
    cycle = find_cycle(graph)
    if cycle is not None:
        raise TopologyError(
            f"dependency cycle: {' -> '.join(cycle)}",
            hint="remove one of these depends_on entries; a process cannot wait for itself",
        )
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(graph):
        for node, deps in graph.items():
            if node not in placed and all(dep in placed for dep in deps):
                order.append(node)
                placed.add(node)
                break
    return order


def start_order(topology: Topology) -> list[str]:
    """The order in which ``topology``'s processes start."""
    return topological_order({name: spec.depends_on for name, spec in topology.processes.items()})


def dependents(graph: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """For each node, the nodes that depend on it."""
    result: dict[str, list[str]] = {node: [] for node in graph}
    for node, deps in graph.items():
        for dep in deps:
            result[dep].append(node)
    return result

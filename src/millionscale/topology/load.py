"""Reading a topology file into a :class:`~millionscale.topology.model.Topology`.

Every problem becomes one :class:`~millionscale.errors.TopologyError` whose
message names the file, the line and the key, and whose hint says how to fix
it (see :mod:`millionscale.tomlfile`)::

    topologies/x.toml:14: processes.web.restart.polcy: unknown key
    (did you mean 'policy'? allowed: policy, max_restarts, ...)
"""

from __future__ import annotations

from pathlib import Path

from millionscale import tomlfile
from millionscale.errors import TopologyError
from millionscale.tomlfile import line_of
from millionscale.topology.model import Topology
from millionscale.topology.order import start_order
from millionscale.topology.replicas import expand

__all__ = ["line_of", "load_topology", "parse_topology"]


def parse_topology(text: str, source: str = "<topology>") -> Topology:
    """Parse and validate topology text; raise :class:`TopologyError` on any problem.

    The topology is the file's (a replicated process is one entry); the
    processes it runs, its replicas expanded, are checked here too.
    """
    topology = tomlfile.parse(text, Topology, source=source, error=TopologyError)
    try:
        start_order(topology)
        start_order(expand(topology).topology)
    except TopologyError as error:
        raise TopologyError(f"{source}: {error.message}", hint=error.hint) from None
    return topology


def load_topology(path: Path) -> Topology:
    """Read and validate the topology file at ``path``."""
    text = tomlfile.read(path, what="topology", example="topologies/demo.toml", error=TopologyError)
    return parse_topology(text, str(path))

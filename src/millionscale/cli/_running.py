"""The topology a state directory holds, as the commands that talk to it find it."""

from __future__ import annotations

from pathlib import Path

from millionscale.errors import SupervisorError
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir


def running_topology(state_dir: Path) -> ResolvedTopology:
    """The topology a supervisor runs from ``state_dir``; an error if none does."""
    state = StateDir(state_dir)
    if state.supervisor_pid() is None:
        raise SupervisorError("no topology is running here", hint="run 'millionscale up' first")
    return ResolvedTopology.read(state.topology)


def resolved_topology(state: StateDir) -> ResolvedTopology | None:
    """The topology last started from ``state`` (running or not); None if there is none."""
    try:
        return ResolvedTopology.read(state.topology)
    except (OSError, ValueError):
        return None

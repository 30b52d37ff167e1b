"""What ``millionscale up`` left in a state directory, read as the supervisor reads it."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from millionscale.errors import SupervisorError, TopologyError
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir

__all__ = ["read_topology"]


def read_topology(state_dir: Path) -> ResolvedTopology:
    """The resolved topology (``topology.json``) of the state directory ``state_dir``:
    every process with its host, ports, secret and data directory, typed.

    :class:`~millionscale.errors.SupervisorError` if nothing was started there,
    :class:`~millionscale.errors.TopologyError` if the file is not one.
    """
    path = StateDir(state_dir).topology
    try:
        return ResolvedTopology.read(path)
    except FileNotFoundError as error:
        raise SupervisorError(
            f"no resolved topology at {path}: nothing was started in {state_dir}",
            hint="run `millionscale up` on this state directory first",
        ) from error
    except ValidationError as error:
        raise TopologyError(
            f"{path} is not a resolved topology: {error.errors()[0]['msg']}",
            hint="it is written by `millionscale up`; do not edit it by hand",
        ) from error

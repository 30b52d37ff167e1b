"""Factories for the unit tests: every value a test relies on is an argument at the call site."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

from millionscale.obs.admin import create_token
from millionscale.servers import cgroups, netns
from millionscale.testing import FakeClock
from millionscale.topology.model import Readiness, RestartPolicy, Topology
from millionscale.topology.resolve import ResolvedTopology, resolve
from millionscale.topology.supervision import Kill, Plan, Probe, Spawn, Supervision, Terminate


def plan(
    *depends_on: str,
    probed: bool = True,
    timeout_s: float = 30.0,
    interval_s: float = 0.1,
    policy: Literal["on-failure", "always", "never"] = "on-failure",
    max_restarts: int = 5,
    window_s: float = 60.0,
    backoff_initial_s: float = 0.5,
    backoff_max_s: float = 30.0,
    stop_timeout_s: float = 10.0,
) -> Plan:
    """A :class:`Plan` whose defaults are the topology file's defaults."""
    return Plan(
        depends_on=depends_on,
        readiness=Readiness(timeout_s=timeout_s, interval_s=interval_s),
        restart=RestartPolicy(
            policy=policy,
            max_restarts=max_restarts,
            window_s=window_s,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            stop_timeout_s=stop_timeout_s,
        ),
        probed=probed,
    )


def supervision(clock: FakeClock, **plans: Plan) -> Supervision:
    """A :class:`Supervision` of ``plans``, in keyword order (the file order)."""
    return Supervision(plans, clock)


def bring_up(core: Supervision, pids: dict[str, int]) -> list[Spawn | Probe | Terminate | Kill]:
    """Play the shell until every process is ready, without moving the clock.

    Each :class:`Spawn` is answered with the pid from ``pids`` and each
    :class:`Probe` with success. Returns every action seen, in order.
    """
    seen: list[Spawn | Probe | Terminate | Kill] = []
    for _ in range(100):
        if core.all_ready:
            return seen
        actions = core.step()
        seen += actions
        for action in actions:
            if isinstance(action, Spawn):
                core.spawned(action.name, pids[action.name])
            elif isinstance(action, Probe):
                core.probed(action.name, ok=True)
    raise AssertionError(f"not all ready after 100 steps: {core.status()}")


def topology(**processes: dict[str, Any]) -> Topology:
    """A validated :class:`Topology` named ``t`` with ``processes`` in keyword order."""
    return Topology.model_validate({"topology": {"name": "t"}, "processes": processes})


def resolved(
    parsed: Topology,
    state_dir: Path,
    *,
    hosts: pytest.MonkeyPatch | None = None,
    limits: bool = True,
) -> ResolvedTopology:
    """``parsed`` resolved on ``state_dir``, ports handed out from 41001 and every fixed
    one free. With ``hosts`` (a test's monkeypatch), as on a machine where network
    namespaces and cgroups v1 are available; ``limits`` False: ``--no-host-limits``."""
    if hosts is not None:
        hosts.setattr(netns, "available", lambda: None)
        hosts.setattr(cgroups, "detect", lambda: "v1")
    ports = iter(range(41001, 41200))
    return resolve(
        parsed,
        source=Path("t.toml"),
        state_dir=state_dir,
        pick_port=lambda host: next(ports),
        is_port_free=lambda host, port: True,
        host_limits=limits,
    )


SLEEP = ["{python}", "-c", "pass"]  # a command for a process whose run does not matter


def with_admin_token(tmp_path: Path, **processes: dict[str, Any]) -> ResolvedTopology:
    """``processes`` resolved on ``tmp_path / "state"`` (as :func:`resolved`), that state
    directory created with an admin token in it: what an admin client reads."""
    topology_ = resolved(topology(**processes), tmp_path / "state")
    topology_.state().create()
    create_token(topology_.state().admin_token_file)
    return topology_

"""Starting and stopping a topology: what ``up``, ``down`` and ``demo`` share.

:func:`start` resolves a topology (every user error raised before anything
runs), launches the supervisor and follows ``state.json`` until every process
is ready, one fails, or time runs out. :func:`stop` stops the supervisor and
makes sure, by pid and start time, that nothing it started is still alive.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millionscale.errors import SupervisorError
from millionscale.servers.engines import engine_for, remove_owned_dir
from millionscale.servers.process import pid_alive, signal_group, spawn, start_ticks
from millionscale.topology.load import load_topology
from millionscale.topology.network import teardown
from millionscale.topology.resolve import ResolvedTopology, resolve
from millionscale.topology.state import StateDir

__all__ = ["Started", "live_view", "ours", "purge", "start", "stop"]

DOWN_MARGIN_S = 15.0  # beyond the processes' own stop timeouts
STATE_POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Started:
    """A topology launched by :func:`start`: ready, or ``problem`` says why not."""

    topology: ResolvedTopology
    supervisor: subprocess.Popen[bytes]
    elapsed_s: float
    problem: str | None


def live_view(state: StateDir) -> dict[str, Any]:
    """The published state, with everything marked stopped if no supervisor runs."""
    data = state.read_state() or {"processes": []}
    running = state.supervisor_pid() is not None
    if not running:
        alive = ours(data)
        for process in data["processes"]:
            if process.get("pid") not in alive:
                process["pid"] = None
                if process.get("state") != "failed":
                    process["state"] = "stopped"
    data["running"] = running
    return data


def _wait_ready(
    state: StateDir,
    supervisor: subprocess.Popen[bytes],
    total: int,
    timeout: float,
    on_state: Callable[[dict[str, Any]], None],
) -> str | None:
    """Follow the supervisor until all is ready; return None, or why not."""
    deadline = time.monotonic() + timeout
    while True:
        data = state.read_state()
        if data:
            on_state(data)
            processes = data["processes"]
            failed = [p for p in processes if p["state"] == "failed"]
            if failed:
                return f"{failed[0]['name']} failed: {failed[0]['reason']}"
            if sum(p["state"] == "ready" for p in processes) == total:
                return None
        if supervisor.poll() is not None:
            return f"the supervisor exited with code {supervisor.returncode}"
        if time.monotonic() > deadline:
            return f"not ready within {timeout:g} s"
        time.sleep(STATE_POLL_S)


def start(
    topology: Path,
    state_dir: Path,
    *,
    detach: bool,
    timeout: float,
    on_state: Callable[[dict[str, Any]], None] = lambda _data: None,
) -> Started:
    """Resolve and launch ``topology``; wait until it is ready or cannot be.

    Raises :class:`~millionscale.errors.MillionscaleError` subclasses for user
    errors, with nothing started. ``detach=False`` ties the supervisor's life
    to this process (if we die, everything stops).
    """
    state = StateDir(state_dir)
    running = state.supervisor_pid()
    if running is not None:
        raise SupervisorError(
            f"a topology already runs from {state.root} (supervisor pid {running})",
            hint="run 'millionscale down' first, or use another --state-dir",
        )
    resolved = resolve(load_topology(topology), source=topology, state_dir=state_dir)
    state.create()
    state.admin_token()  # admin endpoints (the failover monitor's) want it
    resolved.save(state.topology)
    state.state.unlink(missing_ok=True)
    began = time.monotonic()
    supervisor = spawn(
        [sys.executable, "-m", "millionscale.topology.supervisor", str(state.root.resolve())],
        log_path=state.logs / "supervisor.log",
        die_with_parent=not detach,
    )
    problem = _wait_ready(state, supervisor, len(resolved.processes), timeout, on_state)
    return Started(resolved, supervisor, time.monotonic() - began, problem)


def ours(view: dict[str, Any]) -> list[int]:
    """Pids in a published state that still name the processes we started.

    A pid is ours only while its start time matches the one published: a pid
    reused by an unrelated process is never signalled.
    """
    return [
        int(p["pid"])
        for p in view.get("processes", [])
        if p.get("pid") and p.get("started") and start_ticks(int(p["pid"])) == p["started"]
    ]


def stop(state: StateDir) -> int:
    """Stop the supervisor and everything it started; return how many processes were stopped."""
    before = ours(state.read_state() or {})
    supervisor = state.supervisor_pid()
    if supervisor is not None:
        try:
            topology = ResolvedTopology.read(state.topology)
            budget = sum(p.restart.stop_timeout_s for p in topology.processes) + DOWN_MARGIN_S
        except (OSError, ValueError):
            budget = 60.0
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + budget
        while pid_alive(supervisor) and time.monotonic() < deadline:
            time.sleep(STATE_POLL_S)
        if pid_alive(supervisor):  # its children die with it (parent-death signal)
            os.kill(supervisor, signal.SIGKILL)
    # Belt and braces: nothing we started outlives `down`, whatever happened to the supervisor.
    leftovers = set(before) | set(ours(state.read_state() or {}))
    for pid in leftovers:
        signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while any(pid_alive(pid) for pid in leftovers) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(set(before))


def purge(state: StateDir) -> list[Path]:
    """Delete a stopped topology's data: engine data directories (wherever they were
    placed), media, secrets and the failover monitor's record. Logs and reports stay. Returns what was removed."""
    removed: list[Path] = []
    try:
        topology = ResolvedTopology.read(state.topology)
    except (OSError, ValueError):
        topology = None
    if topology is not None and topology.network is not None:
        teardown(topology.network)  # left behind if the supervisor was SIGKILLed
    for process in topology.processes if topology else []:
        if process.engine is not None and process.data_dir is not None:
            engine = engine_for(process.engine)
            remove_owned_dir(Path(process.data_dir), engine.run_as())
            removed.append(Path(process.data_dir))
    for path in (state.root / "data", state.root / "media"):
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    state.secrets.unlink(missing_ok=True)
    state.cluster.unlink(missing_ok=True)  # the monitor's roles describe the data just removed
    return removed

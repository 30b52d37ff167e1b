"""Starting and stopping a topology: what ``up``, ``down`` and ``demo`` share.

:func:`start` resolves a topology (every user error raised before anything
runs), launches the supervisor and follows ``state.json`` until every process
is ready, one fails, or time runs out. :func:`stop` stops the supervisor and
makes sure, by pid and start time, that nothing it started is still alive.
"""

from __future__ import annotations

import contextlib
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
from millionscale.obs.admin import create_token
from millionscale.servers.engines import (
    engine_for,
    owned_dir_location,
    remove_owned_dir,
    sweep_fallbacks_of,
)
from millionscale.servers.process import pid_alive, signal_group, spawn, start_ticks
from millionscale.topology.hosts import Fleet
from millionscale.topology.load import load_topology
from millionscale.topology.network import teardown
from millionscale.topology.resolve import ResolvedTopology, resolve
from millionscale.topology.state import StateDir, TopologyHome, write_private

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
    """The published state as it stands now, the supervisor's own life included.

    ``supervisor`` is ``{"state", "pid"}``, the state one of ``running``,
    ``stopped`` (it finished: ``down``, or an ``up`` that gave up), ``died`` (it
    was killed before it could stop what it ran: its last ``state.json`` still
    claims a live topology) or ``none`` (nothing was ever started here);
    ``running`` is whether it runs. Without a running supervisor, what
    ``state.json`` says is history: every process whose pid is gone is
    ``stopped`` (a ``failed`` one stays failed, with its reason), and the note
    of a process the dead supervisor left is replaced by what happened to it.
    """
    published = state.read_state()
    data = published or {"processes": []}
    pid = state.supervisor_pid()
    if pid is not None:
        supervisor = {"state": "running", "pid": pid}
    elif published is None:
        supervisor = {"state": "none", "pid": None}
    else:
        finished = bool(published.get("finished"))
        supervisor = {
            "state": "stopped" if finished else "died",
            "pid": published.get("supervisor_pid"),
        }
    if pid is None:
        alive = ours(data)
        died = supervisor["state"] == "died"
        for process in data["processes"]:
            if process.get("pid") in alive:  # outlived its supervisor: `down` kills it
                if died:
                    process["reason"] = "its supervisor died; run 'millionscale down'"
                continue
            process["pid"] = None
            if process.get("state") != "failed":
                process["state"] = "stopped"
                if died:
                    process["reason"] = "stopped: its supervisor died"
    data["running"] = pid is not None
    data["supervisor"] = supervisor
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
    host_limits: bool = True,
) -> Started:
    """Resolve and launch ``topology``; wait until it is ready or cannot be.

    Raises :class:`~millionscale.errors.MillionscaleError` subclasses for user
    errors, with nothing started. ``detach=False`` ties the supervisor's life
    to this process (if we die, everything stops). ``host_limits=False`` runs
    the topology's hosts without their CPU and memory limits.
    """
    state = StateDir(state_dir)
    running = state.supervisor_pid()
    if running is not None:
        raise SupervisorError(
            f"a topology already runs from {state.root} (supervisor pid {running})",
            hint="run 'millionscale down' first, or use another --state-dir",
        )
    stop(state)  # a supervisor an interrupted `up` launched, before it took the lock
    resolved = resolve(
        load_topology(topology), source=topology, state_dir=state_dir, host_limits=host_limits
    )
    state.create()
    create_token(state.admin_token_file)  # the one place it is made; admin APIs read it
    resolved.save(state.topology)
    resolved.save(state.home(resolved.name).topology)  # where its data lives, for purge
    state.state.unlink(missing_ok=True)
    began = time.monotonic()
    supervisor = spawn(
        [sys.executable, "-m", "millionscale.topology.supervisor", str(state.root.resolve())],
        log_path=state.logs / "supervisor.log",
        die_with_parent=not detach,
    )
    # Until the supervisor holds the lock and has written its pid, `stop` finds it here.
    write_private(state.spawned_file, f"{supervisor.pid} {start_ticks(supervisor.pid)}\n")
    problem = _wait_ready(state, supervisor, len(resolved.processes), timeout, on_state)
    return Started(resolved, supervisor, time.monotonic() - began, problem)


def _spawned_supervisor(state: StateDir) -> int | None:
    """The supervisor `start` launched, if it is still that process and alive."""
    try:
        pid_text, ticks = state.spawned_file.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) and str(start_ticks(pid)) == ticks else None


def ours(view: dict[str, Any]) -> list[int]:
    """Pids in a published state that still name live processes we started.

    A pid is ours only while its start time matches the one published: a pid
    reused by an unrelated process is never signalled. A zombie keeps its start
    time until it is reaped (by whoever inherited it when its supervisor died),
    but it is not running: it is not counted.
    """
    return [
        int(p["pid"])
        for p in view.get("processes", [])
        if p.get("pid")
        and p.get("started")
        and start_ticks(int(p["pid"])) == p["started"]
        and pid_alive(int(p["pid"]))
    ]


def stop(state: StateDir) -> int:
    """Stop the supervisor and everything it started; return how many processes were stopped.

    Also stops a supervisor that has not yet taken the directory's lock (``up``
    gave up on it at once, or was interrupted): nothing ``up`` launched outlives
    ``down``, or a failed ``up``.
    """
    before = ours(state.read_state() or {})
    supervisor = state.supervisor_pid() or _spawned_supervisor(state)
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
    state.spawned_file.unlink(missing_ok=True)
    return len(set(before))


def purge(state: StateDir) -> list[Path]:
    """Delete the data of every topology that ran from ``state``: engine data
    directories (wherever they were placed, fallback directories included),
    media, secrets, failover records, the admin token. Logs and reports stay.
    Returns what was removed, and the control endpoint's socket if a killed
    supervisor left it. The topologies must be stopped."""
    removed: list[Path] = []
    try:
        last: ResolvedTopology | None = ResolvedTopology.read(state.topology)
    except (OSError, ValueError):
        last = None
    if last is not None:  # what a SIGKILLed supervisor left behind
        Fleet(last.hosts, last.cgroup_version).remove()
        if last.network is not None:
            teardown(last.network)
    homes = sorted(state.homes.iterdir()) if state.homes.is_dir() else []
    topologies = [last] if last is not None else []
    for home in homes:
        try:
            topologies.append(ResolvedTopology.read(TopologyHome(home).topology))
        except (OSError, ValueError):
            continue
    for topology in topologies:
        for process in topology.processes:
            if process.engine is None or process.data_dir is None:
                continue
            data_dir, run_as = Path(process.data_dir), engine_for(process.engine).run_as()
            if owned_dir_location(data_dir, run_as).exists() or data_dir.exists():
                remove_owned_dir(data_dir, run_as)
                removed.append(data_dir)
    removed += sweep_fallbacks_of(state.root)
    # The old layout kept one topology's data at the top; and every home, whole.
    for path in (state.root / "data", state.root / "media", *homes):
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    shutil.rmtree(state.homes, ignore_errors=True)
    for path in (state.root / "secrets.json", state.root / "db-cluster.json"):
        if path.exists():
            path.unlink()
            removed.append(path)
    for path in (state.admin_token_file, state.topology, state.state):
        path.unlink(missing_ok=True)
    # The control endpoint's socket, left behind if the supervisor was SIGKILLed.
    socket_path = state.control_socket()
    if socket_path.exists() or socket_path.is_socket():
        socket_path.unlink(missing_ok=True)
        removed.append(socket_path)
    if socket_path.parent.name.startswith("ms-") and socket_path.parent != state.root.resolve():
        with contextlib.suppress(OSError):
            socket_path.parent.rmdir()  # its short place, ms-HASH, once empty
    state.control_pointer.unlink(missing_ok=True)
    return removed

"""Fencing on one machine: the supervisor's PostgreSQL nodes, killed by pid.

:class:`LocalFencer` is the :class:`millionscale.db.fencing.Fencer` for the
nodes ``millionscale up`` runs (the Protocol is structural: this module does
not import the data tier). It finds a node's postmaster in the supervisor's
published ``state.json``, by pid checked against the start time the supervisor
recorded (a pid reused by another process is never signalled), and

- fences it with SIGKILL to the postmaster and every process below it
  (PostgreSQL's backends run in sessions of their own, so a group signal would
  miss them), then waits until the postmaster is gone: a killed server
  accepts no write, which is the Fencer's contract;
- shuts it down with SIGINT to the postmaster alone, PostgreSQL's fast
  shutdown.

The supervisor restarts the node as a standby of the primary the monitor
claimed (``db/primary``). The failover monitor names this fencer with
``--fence millionscale.topology.fencing:local_fencer=STATE_DIR``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from millionscale.errors import SupervisorError
from millionscale.servers.process import pid_alive, signal_tree, start_ticks
from millionscale.topology.state import StateDir

__all__ = ["FENCE_WAIT_S", "LocalFencer", "local_fencer"]

FENCE_WAIT_S = 5.0  # a SIGKILLed process tree is gone in milliseconds; this is the ceiling
POLL_S = 0.01


class LocalFencer:
    """Fences and shuts down the processes the supervisor on ``state`` runs."""

    def __init__(self, state: StateDir) -> None:
        self.state = state

    def postmaster(self, node: str) -> int | None:
        """The pid the supervisor published for ``node``, if that process still runs."""
        view = self.state.read_state() or {}
        processes = view.get("processes")
        for entry in processes if isinstance(processes, list) else ():
            if isinstance(entry, dict) and entry.get("name") == node:
                pid = entry.get("pid")
                if isinstance(pid, int) and start_ticks(pid) == entry.get("started"):
                    return pid
                return None  # not running, or the pid is another process's now
        return None

    async def fence(self, node: str) -> str:
        pid = self.postmaster(node)
        if pid is None:
            return f"{node} was not running"
        signal_tree(pid, signal.SIGKILL)  # its backends too: they run in sessions of their own
        if not await _gone(pid, FENCE_WAIT_S):
            raise SupervisorError(
                f"{node} (pid {pid}) still runs {FENCE_WAIT_S:g} s after SIGKILL",
                hint="a process in uninterruptible sleep: see its state in /proc",
            )
        return f"killed {node} (pid {pid})"

    async def shut_down(self, node: str, within_s: float) -> str | None:
        pid = self.postmaster(node)
        if pid is None:
            return None
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return None
        if not await _gone(pid, within_s):
            return f"still running {within_s:g} s after a fast shutdown was asked"
        return None


def local_fencer(state_dir: str) -> LocalFencer:
    """The factory ``--fence millionscale.topology.fencing:local_fencer=STATE_DIR`` names."""
    return LocalFencer(StateDir(Path(state_dir)))


async def _gone(pid: int, within_s: float) -> bool:
    """Whether ``pid`` is gone (reaped by the supervisor) within ``within_s``."""
    for _ in range(int(within_s / POLL_S)):
        if not pid_alive(pid):
            return True
        await asyncio.sleep(POLL_S)
    return not pid_alive(pid)

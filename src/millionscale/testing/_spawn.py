"""A module of ours as a child process, for as long as a ``with`` block lasts."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from millionscale.servers.process import log_tail, spawn, terminate

__all__ = ["Spawned", "spawn_module"]

STOP_TIMEOUT_S = 10.0  # SIGTERM, then SIGKILL: servers.process.terminate's default


@dataclass(frozen=True, slots=True)
class Spawned:
    """A running ``python -m module``: its process and the log of its output."""

    module: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        """Everything it wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self) -> str:
        """The last lines of its log, joined by `` | `` (for assertion messages)."""
        return log_tail(self.log_path)


@contextlib.contextmanager
def spawn_module(
    module: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    stop_timeout: float = STOP_TIMEOUT_S,
) -> Iterator[Spawned]:
    """Run ``python -m module *args`` until the ``with`` block ends.

    The child runs in its own session and process group and dies with us
    (:func:`millionscale.servers.process.spawn`); on exit its whole group gets
    SIGTERM, then SIGKILL after ``stop_timeout`` seconds, and the leader is
    reaped. ``env`` is its whole environment (default: ours). stdout and
    stderr are appended to ``log``; without one, to a temporary file removed
    on exit. It does not wait for readiness: pair it with
    :func:`~millionscale.testing.wait_ready`.
    """
    with contextlib.ExitStack() as stack:
        if log is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spawned-")))
            log = scratch / f"{module}.log"
        process = spawn(
            [sys.executable, "-m", module, *args],
            log_path=log,
            env=dict(os.environ) if env is None else env,
        )
        try:
            yield Spawned(module, process, log)
        finally:
            terminate(process, timeout=stop_timeout)

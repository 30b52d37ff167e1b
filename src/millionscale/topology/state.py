"""The run-time state directory, ``.millionscale/``, and what it holds.

    .millionscale/            (mode 0700)
      topology.json           the resolved topology the supervisor runs (0600)
      secrets.json            engine secrets, kept across runs (0600)
      state.json              live view: every process's pid, address, state
      supervisor.pid          the supervisor's pid
      supervisor.lock         held (flock) while a supervisor runs
      logs/<name>.log         one log per process, and supervisor.log
      data/<name>/            engines' data directories

``state.json`` is the published topology: written atomically by the
supervisor on every change, read by ``millionscale status`` and by anything
that must know who is where.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millionscale.servers.process import pid_alive

__all__ = ["DEFAULT_STATE_DIR", "StateDir", "write_private"]

DEFAULT_STATE_DIR = Path(".millionscale")


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` atomically with ``text``, readable only as ``mode`` allows."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class StateDir:
    root: Path

    @property
    def topology(self) -> Path:
        return self.root / "topology.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def pid_file(self) -> Path:
        return self.root / "supervisor.pid"

    @property
    def lock_file(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def admin_token_file(self) -> Path:
        return self.root / "admin-token"

    @property
    def cluster(self) -> Path:
        """The failover monitor's record of the PostgreSQL primary (millionscale.db)."""
        return self.root / "db-cluster.json"

    def admin_token(self) -> str:
        """The token admin endpoints require (owner-only file, made on first use)."""
        try:
            token = self.admin_token_file.read_text().strip()
        except FileNotFoundError:
            token = ""
        if not token:
            token = secrets.token_urlsafe(32)
            write_private(self.admin_token_file, token + "\n")
        return token

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def create(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.logs.mkdir(exist_ok=True)

    def read_state(self) -> dict[str, Any] | None:
        """The last published state, or None if there is none (or it is unreadable)."""
        try:
            data = json.loads(self.state.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def supervisor_pid(self) -> int | None:
        """The pid of the supervisor running on this directory, if one is."""
        if not self.locked():
            return None
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def locked(self) -> bool:
        """Whether a supervisor holds this directory's lock."""
        try:
            fd = os.open(self.lock_file, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def acquire(self) -> int | None:
        """Take the supervisor lock for this process; None if another holds it.

        The returned descriptor must stay open for as long as the lock is held.
        """
        self.create()
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        write_private(self.pid_file, f"{os.getpid()}\n", 0o644)
        return fd

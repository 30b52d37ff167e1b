"""The run-time state directory, ``.millionscale/``, and what it holds.

    .millionscale/            (mode 0700)
      topology.json           the resolved topology the supervisor runs (0600)
      state.json              live view: every process's pid, address, state
      supervisor.pid          the supervisor's pid
      supervisor.lock         held (flock) while a supervisor runs
      supervisor.spawned      the supervisor `up` launched (pid, start time), until it is stopped
      admin-token             the token admin endpoints require (0600)
      control.sock            the supervisor's control endpoint (a Unix socket, 0600),
                              while it runs; elsewhere when this path is too long:
      control-socket          where the control endpoint's socket is (its path)
      logs/<name>.log         one log per process, and supervisor.log
      topologies/<topology>/  what belongs to one topology, kept across its runs:
        topology.json           its last resolved topology (where its data lives)
        secrets.json            engine secrets (0600)
        roles.json              the role claims made to the supervisor (db/primary), kept
        db-cluster.json         the failover monitor's record (the monitor's own file)
        data/<name>/            engines' data directories
        media/                  the photo app's uploads

``state.json`` is the published topology: written atomically by the
supervisor on every change, read by ``millionscale status`` and by anything
that must know who is where.

Each topology keeps its data in a home of its own, so that running another
topology from the same directory never starts on data (a standby's data
directory, a cluster record, secrets) that another one left: ``demo`` then
``single-server`` gives ``single-server`` a fresh database, and ``demo`` finds
its own again next time. ``down --purge`` removes every topology's home.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from millionscale.discovery import RoleClaim, Snapshot
from millionscale.errors import DiscoveryError, SupervisorError
from millionscale.obs.admin import TOKEN_FILE
from millionscale.servers.process import pid_alive

__all__ = [
    "DEFAULT_STATE_DIR",
    "SUN_PATH_MAX",
    "StateDir",
    "TopologyHome",
    "control_socket_for",
    "read_claims",
    "write_private",
]

DEFAULT_STATE_DIR = Path(".millionscale")
# sockaddr_un.sun_path is 108 bytes on Linux (unix(7)), one of them the final NUL.
SUN_PATH_MAX = 107
SHORT_SOCKET_ROOT = Path("/run/millionscale")  # as root; the temp directory otherwise


def control_socket_for(root: Path) -> Path:
    """Where the control endpoint of state directory ``root`` listens.

    ``root/control.sock`` when that path fits in a socket address; otherwise a
    short path named by a hash of ``root`` (pytest's temporary directories are
    long): under /run/millionscale as root, under the temp directory
    otherwise. The directory holding it is the caller's to create, mode 0700.
    """
    root = root.resolve()
    path = root / "control.sock"
    if len(os.fsencode(path)) <= SUN_PATH_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:12]
    base = SHORT_SOCKET_ROOT if os.geteuid() == 0 else Path(tempfile.gettempdir())
    return base / f"ms-{digest}" / "control.sock"


def write_private(path: Path, text: str, mode: int = 0o600, *, durable: bool = False) -> None:
    """Replace ``path`` atomically with ``text``, readable only as ``mode`` allows;
    ``durable``: on disk (the file and its directory entry synced) when it returns."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def read_claims(path: Path) -> dict[str, RoleClaim]:
    """The role claims kept in ``path`` (none before the first one).

    A file that cannot be read is an error, never "no claims": starting without
    the ``db/primary`` claim after a failover would start two primaries.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SupervisorError(
            f"cannot read the role claims in {path}: {error.strerror}", hint=_KEEP_CLAIMS
        ) from None
    try:
        return dict(Snapshot.loads(text, source=str(path)).roles)
    except DiscoveryError as error:
        raise SupervisorError(error.message, hint=_KEEP_CLAIMS) from None


_KEEP_CLAIMS = (
    "it holds who holds each role (db/primary after a failover): restore it, "
    "or start from the topology file again with 'millionscale down --purge'"
)


@dataclass(frozen=True, slots=True)
class TopologyHome:
    """The part of a state directory that belongs to one topology (by its name)."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def topology(self) -> Path:
        """The topology last resolved here: it says where every data directory lives."""
        return self.root / "topology.json"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def cluster(self) -> Path:
        """The failover monitor's record of the PostgreSQL primary (millionscale.db)."""
        return self.root / "db-cluster.json"

    @property
    def roles(self) -> Path:
        """The role claims the supervisor's discovery accepted (``db/primary``...)."""
        return self.root / "roles.json"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def media(self) -> Path:
        return self.root / "media"


@dataclass(frozen=True, slots=True)
class StateDir:
    """A state directory; ``topology_name`` names whose home :attr:`cluster` and
    :attr:`secrets` are in (None: the topology last started here)."""

    root: Path
    topology_name: str | None = None

    @property
    def topology(self) -> Path:
        """The resolved topology the supervisor runs (or ran last)."""
        return self.root / "topology.json"

    @property
    def homes(self) -> Path:
        return self.root / "topologies"

    def home(self, name: str | None = None) -> TopologyHome:
        """Topology ``name``'s home (default: this view's topology, else the one last
        started here; ``_none`` in a directory that never started one)."""
        name = name or self.topology_name or self._last_started()
        return TopologyHome(self.homes / name)

    def _last_started(self) -> str:
        try:
            data = json.loads(self.topology.read_text())
        except (OSError, json.JSONDecodeError):
            return "_none"
        name = data.get("name") if isinstance(data, dict) else None
        return name if isinstance(name, str) and name else "_none"

    @property
    def secrets(self) -> Path:
        return self.home().secrets

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def spawned_file(self) -> Path:
        return self.root / "supervisor.spawned"

    @property
    def pid_file(self) -> Path:
        return self.root / "supervisor.pid"

    @property
    def lock_file(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def admin_token_file(self) -> Path:
        """The token admin endpoints require: created by ``up`` only, read by the rest
        (:func:`millionscale.obs.admin.create_token`, :func:`~millionscale.obs.admin.read_token`)."""
        return self.root / TOKEN_FILE

    @property
    def cluster(self) -> Path:
        """The failover monitor's record of the PostgreSQL primary (millionscale.db)."""
        return self.home().cluster

    @property
    def roles(self) -> Path:
        """The role claims this topology's supervisor accepted (kept across runs)."""
        return self.home().roles

    def claims(self) -> dict[str, RoleClaim]:
        """The role claims kept in :attr:`roles` (SupervisorError if unreadable)."""
        return read_claims(self.roles)

    @property
    def control_pointer(self) -> Path:
        """The file that says where the control endpoint's socket is."""
        return self.root / "control-socket"

    def control_socket(self) -> Path:
        """Where the supervisor's control endpoint listens (or would): the path it
        recorded, else :func:`control_socket_for` this directory."""
        try:
            recorded = self.control_pointer.read_text().strip()
        except OSError:
            recorded = ""
        return Path(recorded) if recorded else control_socket_for(self.root)

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

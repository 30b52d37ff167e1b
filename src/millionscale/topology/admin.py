"""Talking to a topology's admin endpoints: one small client, bearer token included.

Admin endpoints (the failover monitor's, the balancer's) want the token that
``up`` keeps in ``.millionscale/admin-token``. :func:`admin_client` finds the
process of a running topology by its tier and role (:data:`FAILOVER_MONITOR`,
:data:`BALANCER`, as the topology file names them) and returns an
:class:`AdminClient` for it.

Where it connects:

- a process with a port named ``admin`` (``extra_ports = ["admin"]``) serves
  its admin API there, on the control side only: the loopback of its own
  network namespace (the balancer's ``--admin-host`` default, 127.0.0.1), which
  nothing outside that namespace reaches. The client connects from inside the
  process's namespace, to 127.0.0.1 on that port;
- a process without one (the failover monitor) serves it on its main port, at
  its address.

Where a process's command line says ``--admin-host`` (a CDN shield's admin API
faces the private subnet, so that the app can purge there), the client connects
there instead, still from inside the process's namespace (:func:`admin_host`).
:func:`admin_clients` gives one client per process of a tier (every CDN edge).
"""

from __future__ import annotations

import http.client
import itertools
import json
import socket
from pathlib import Path
from typing import Any

from millionscale.errors import AdminError, TopologyError
from millionscale.obs.admin import read_token
from millionscale.servers import netns
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.state import StateDir

__all__ = [
    "ADMIN_HOST",
    "ADMIN_PORT",
    "BALANCER",
    "FAILOVER_MONITOR",
    "REQUEST_TIMEOUT_S",
    "AdminClient",
    "AdminError",
    "admin_client",
    "admin_clients",
    "admin_host",
]

REQUEST_TIMEOUT_S = 60.0  # a database switchover waits for catch-up (10 s at most) and promotion
ADMIN_PORT = "admin"  # the port name of an admin API that is not the process's main port
ADMIN_HOST = "127.0.0.1"  # where it listens: the loopback of the process's namespace

# Who serves which admin API: (tier, role, what to call it), as the topology files name them.
FAILOVER_MONITOR = ("db", "monitor", "failover monitor")
BALANCER = ("lb", "balancer", "load balancer")


class _ConnectionIn(http.client.HTTPConnection):
    """An HTTP connection whose socket is made in network namespace ``namespace``."""

    def __init__(self, namespace: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.namespace = namespace

    def connect(self) -> None:
        sock = netns.socket_in(self.namespace)
        try:
            sock.settimeout(self.timeout)
            sock.connect((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock


class AdminClient:
    """JSON requests to one admin endpoint; errors become :class:`AdminError`.

    ``namespace``: the network namespace the endpoint listens in (None: the host's).
    """

    def __init__(
        self, what: str, host: str, port: int, token: str, namespace: str | None = None
    ) -> None:
        self.what, self.host, self.port, self._token = what, host, port, token
        self.namespace = namespace

    def _connection(self) -> http.client.HTTPConnection:
        if self.namespace is None:
            return http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
        return _ConnectionIn(self.namespace, self.host, self.port, REQUEST_TIMEOUT_S)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        conn = self._connection()
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        payload = json.dumps(body or {}) if method in ("POST", "PUT") else None
        try:
            conn.request(method, path, payload, headers)
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, json.JSONDecodeError) as error:
            where = f"{self.host}:{self.port}" + (
                f" (network namespace {self.namespace})" if self.namespace else ""
            )
            raise AdminError(
                f"the {self.what} at {where} did not answer: {error}",
                hint="check that it runs: 'millionscale status'",
            ) from None
        finally:
            conn.close()
        if not 200 <= response.status < 300:
            reason = data.get("detail", response.reason) if isinstance(data, dict) else data
            raise AdminError(
                f"the {self.what} refused: {reason}",
                hint=f"see 'millionscale status' and the {self.what}'s log",
            )
        return dict(data) if isinstance(data, dict) else {"result": data}


def admin_host(argv: list[str] | None, default: str = ADMIN_HOST) -> str:
    """Where a process's admin API listens, as its command line says (``--admin-host``:
    a CDN shield's faces the private subnet, an edge's its own loopback), else ``default``."""
    for flag, value in itertools.pairwise(argv or []):
        if flag == "--admin-host":
            return value
    return default


def _client(process: ResolvedProcess, what: str, token: str) -> AdminClient:
    if ADMIN_PORT in process.ports:
        host = admin_host(process.argv)
        return AdminClient(what, host, process.ports[ADMIN_PORT], token, process.netns)
    return AdminClient(what, process.host, process.ports["main"], token, process.netns)


def admin_clients(
    topology: ResolvedTopology, tier: str, what: str
) -> list[tuple[ResolvedProcess, AdminClient]]:
    """A client for the admin API of each of ``topology``'s processes of ``tier`` (every
    CDN edge and shield), in file order, with its process; empty if it has none."""
    members = [p for p in topology.processes if p.tier == tier]
    if not members:
        return []
    token = read_token(StateDir(Path(topology.state_dir)).admin_token_file)
    return [(p, _client(p, f"{what} {p.name}", token)) for p in members]


def admin_client(topology: ResolvedTopology, serves: tuple[str, str, str]) -> AdminClient:
    """The client for the admin API of ``topology``'s process of tier and role ``serves``
    (:data:`FAILOVER_MONITOR`, :data:`BALANCER`); TopologyError if it has none."""
    tier, role, what = serves
    for process in topology.processes:
        if (process.tier, process.role) != (tier, role):
            continue
        token = read_token(StateDir(Path(topology.state_dir)).admin_token_file)
        return _client(process, what, token)
    raise TopologyError(
        f"topology {topology.name!r} runs no {what} (no process of tier {tier!r}, role {role!r})",
        hint="start a topology that does (see topologies/)",
    )

"""Talking to a topology's admin endpoints: one small client, bearer token included.

Admin endpoints (the failover monitor's, the balancer's) want the token that
``up`` keeps in ``.millionscale/admin-token``. :func:`admin_client` finds the
process of a running topology that runs a given module and returns an
:class:`AdminClient` for its admin port (``extra_ports = ["admin"]``) or, if
it has none, its main port.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

from millionscale.errors import MillionscaleError, TopologyError
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import StateDir

__all__ = ["REQUEST_TIMEOUT_S", "AdminClient", "AdminError", "admin_client"]

REQUEST_TIMEOUT_S = 60.0  # a database switchover waits for catch-up (10 s at most) and promotion


class AdminError(MillionscaleError):
    """An admin endpoint refused, or did not answer."""


class AdminClient:
    """JSON requests to one admin endpoint; errors become :class:`AdminError`."""

    def __init__(self, what: str, host: str, port: int, token: str) -> None:
        self.what, self.host, self.port, self._token = what, host, port, token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        payload = json.dumps(body or {}) if method in ("POST", "PUT") else None
        try:
            conn.request(method, path, payload, headers)
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, json.JSONDecodeError) as error:
            raise AdminError(
                f"the {self.what} at {self.host}:{self.port} did not answer: {error}",
                hint="check that it runs: 'millionscale status'",
            ) from None
        finally:
            conn.close()
        if not 200 <= response.status < 300:
            reason = data.get("error", response.reason) if isinstance(data, dict) else data
            raise AdminError(
                f"the {self.what} refused: {reason}",
                hint=f"see 'millionscale status' and the {self.what}'s log",
            )
        return dict(data) if isinstance(data, dict) else {"result": data}


def admin_client(topology: ResolvedTopology, module: str, what: str) -> AdminClient:
    """The client for the process of ``topology`` that runs ``python -m module``."""
    for process in topology.processes:
        if process.argv and module in process.argv:
            token = StateDir(Path(topology.state_dir)).admin_token()
            port = process.ports.get("admin", process.ports["main"])
            return AdminClient(what, process.host, port, token)
    raise TopologyError(
        f"topology {topology.name!r} runs no {what}",
        hint="start a topology that does (see topologies/)",
    )

"""Asking a failover manager for a switchover or a failover: one interface.

:class:`FailoverControl` is what ``millionscale db switchover`` and
``db failover`` talk to. :class:`MonitorControl` implements it over our
monitor's admin API; Patroni's REST API (``POST /switchover``,
``POST /failover``) has the same shape and would plug in behind the same
protocol where Patroni runs the cluster.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any, Protocol

from millionscale.errors import DatabaseError
from millionscale.topology.resolve import ResolvedProcess, ResolvedTopology
from millionscale.topology.state import StateDir

__all__ = ["FailoverControl", "MonitorControl", "monitor_control"]

REQUEST_TIMEOUT_S = 60.0  # a switchover waits for catch-up (10 s at most) and promotion


class FailoverControl(Protocol):
    """Contract: each call returns only once the cluster has a primary again (or
    raises :class:`DatabaseError` saying why nothing was done)."""

    def cluster(self) -> dict[str, Any]:
        """The manager's view: its record (epoch, primary, state) and each node."""
        ...

    def switchover(self, to: str | None = None) -> dict[str, Any]:
        """Planned: no acknowledged write lost, writes paused briefly, not failed."""
        ...

    def failover(self) -> dict[str, Any]:
        """Forced: the primary is fenced whatever it answers, and a standby promoted."""
        ...


class MonitorControl:
    """:class:`FailoverControl` over the monitor's HTTP admin API (bearer token)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self._token = host, port, token

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT_S)
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        try:
            conn.request(
                method, path, json.dumps(body or {}) if method == "POST" else None, headers
            )
            response = conn.getresponse()
            payload = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, json.JSONDecodeError) as error:
            raise DatabaseError(
                f"the failover monitor at {self.host}:{self.port} did not answer: {error}",
                hint="check that the topology runs a db monitor: 'millionscale status'",
            ) from None
        finally:
            conn.close()
        if response.status != 200:
            raise DatabaseError(
                f"the failover monitor refused: {payload.get('error', response.reason)}",
                hint="see 'millionscale db status' and 'millionscale logs db-monitor'",
            )
        return dict(payload)

    def cluster(self) -> dict[str, Any]:
        return self._call("GET", "/cluster")

    def switchover(self, to: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/switchover", {"to": to} if to else {})

    def failover(self) -> dict[str, Any]:
        return self._call("POST", "/failover")


def _monitor_process(topology: ResolvedTopology) -> ResolvedProcess:
    for process in topology.processes:
        if process.argv and "millionscale.db.monitor" in process.argv:
            return process
    raise DatabaseError(
        f"topology {topology.name!r} runs no failover monitor",
        hint="run a replicated topology (topologies/replicated.toml) with its db-monitor",
    )


def monitor_control(topology: ResolvedTopology) -> MonitorControl:
    """The control for the monitor ``topology`` runs, with the topology's admin token."""
    monitor = _monitor_process(topology)
    token = StateDir(Path(topology.state_dir)).admin_token()
    return MonitorControl(monitor.host, monitor.ports["main"], token)

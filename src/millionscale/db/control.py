"""Asking a failover manager for a switchover or a failover: one interface.

:class:`FailoverControl` is what ``millionscale db switchover`` and
``db failover`` talk to. :class:`MonitorControl` implements it over our
monitor's admin API; Patroni's REST API (``POST /switchover``,
``POST /failover``) has the same shape and would plug in behind the same
protocol where Patroni runs the cluster.
"""

from __future__ import annotations

from typing import Any, Protocol

from millionscale.topology.admin import AdminClient, admin_client
from millionscale.topology.resolve import ResolvedTopology

__all__ = ["FailoverControl", "MonitorControl", "monitor_control"]


class FailoverControl(Protocol):
    """Contract: each call returns only once the cluster has a primary again (or
    raises :class:`~millionscale.errors.AdminError` saying why nothing
    was done)."""

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

    def __init__(self, client: AdminClient) -> None:
        self.client = client

    def cluster(self) -> dict[str, Any]:
        return self.client.call("GET", "/cluster")

    def switchover(self, to: str | None = None) -> dict[str, Any]:
        return self.client.call("POST", "/switchover", {"to": to} if to else {})

    def failover(self) -> dict[str, Any]:
        return self.client.call("POST", "/failover")


def monitor_control(topology: ResolvedTopology) -> MonitorControl:
    """The control for the monitor ``topology`` runs, with the topology's admin token."""
    return MonitorControl(admin_client(topology, "millionscale.db.monitor", "failover monitor"))

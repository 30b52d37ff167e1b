"""Asking a failover manager for a switchover or a failover: one interface.

:class:`FailoverControl` is what ``millionscale db switchover`` and
``db failover`` talk to. :class:`MonitorControl` implements it over our
monitor's admin API, through any :class:`AdminCalls` (the command line hands
it the topology's admin client, bearer token included); Patroni's REST API
(``POST /switchover``, ``POST /failover``) has the same shape and would plug in
behind the same protocol where Patroni runs the cluster.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["AdminCalls", "FailoverControl", "MonitorControl"]


class AdminCalls(Protocol):
    """One JSON request to an admin API: ``call("POST", "/switchover", {...})``.

    Contract: returns the JSON object of a 2xx answer; raises a
    :class:`~millionscale.errors.MillionscaleError` saying why for any other
    answer, or none.
    """

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The answer to ``method path`` with JSON ``body``."""
        ...


class FailoverControl(Protocol):
    """Contract: each call returns only once the cluster has a primary again (or
    raises a :class:`~millionscale.errors.MillionscaleError` saying why nothing
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
    """:class:`FailoverControl` over the monitor's HTTP admin API."""

    def __init__(self, client: AdminCalls) -> None:
        self.client = client

    def cluster(self) -> dict[str, Any]:
        return self.client.call("GET", "/cluster")

    def switchover(self, to: str | None = None) -> dict[str, Any]:
        return self.client.call("POST", "/switchover", {"to": to} if to else {})

    def failover(self) -> dict[str, Any]:
        return self.client.call("POST", "/failover")

"""What a balancer reports about itself: frozen records, and the admin API's JSON of them.

:meth:`Balancer.statistics() <millionscale.lb.balancer.Balancer.statistics>`
returns a :class:`BalancerStatistics`: a consistent view taken at one
``now``, with a :class:`BackendStatistics` per backend (its health core's
:class:`~millionscale.lb.health.HealthStatistics` included) and the
statistics of the policy, the outlier detector and the retry core. Taking
one changes nothing. :meth:`BalancerStatistics.to_json` is the body of the
admin API's ``GET /backends`` (``millionscale lb status --json``): its shape
is kept as it was when it was a plain dict, so scripts reading it keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from millionscale.lb.health import HealthStatistics, State
from millionscale.lb.outlier import OutlierStatistics
from millionscale.lb.policies import PolicyStatistics
from millionscale.lb.retry import RetryStatistics

__all__ = ["BackendStatistics", "BalancerStatistics"]


@dataclass(frozen=True, slots=True)
class BackendStatistics:
    """One backend at one moment: where it is, whether it serves, its load and latency."""

    name: str
    address: str
    weight: int
    state: State
    serving: bool
    ejected: bool  # by outlier detection, now
    outstanding: int  # requests in flight on it
    idle_connections: int  # in its pool
    latency_s: float  # the policies' peak-EWMA estimate
    slow_start: float  # the weight factor, 1 once slow start is over
    health: HealthStatistics

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "weight": self.weight,
            "state": str(self.state),
            "serving": self.serving,
            "ejected": self.ejected,
            "outstanding": self.outstanding,
            "idle_connections": self.idle_connections,
            "latency_ms": round(self.latency_s * 1000, 2),
            "slow_start": round(self.slow_start, 2),
        }


@dataclass(frozen=True, slots=True)
class BalancerStatistics:
    """A balancer at one moment: its backends in the order they were added, and its cores."""

    policy: str
    backends: tuple[BackendStatistics, ...]
    picks: PolicyStatistics
    outliers: OutlierStatistics
    retries: RetryStatistics
    clients: int  # open client connections

    def backend(self, name: str) -> BackendStatistics | None:
        return next((b for b in self.backends if b.name == name), None)

    @property
    def serving(self) -> tuple[str, ...]:
        """The names of the backends that take new requests (serving and not ejected)."""
        return tuple(b.name for b in self.backends if b.serving and not b.ejected)

    def to_json(self) -> dict[str, Any]:
        """The admin API's ``GET /backends`` body: ``{"policy", "backends": [...]}``."""
        return {"policy": self.policy, "backends": [b.to_json() for b in self.backends]}

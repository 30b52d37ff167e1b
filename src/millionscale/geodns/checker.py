"""Which data centers answers may point at: each one's ``check`` URL, checked on a clock.

Every data center with a ``check`` URL in the zone has a
:class:`~millionscale.lb.health.HealthCheck` (the balancer's state machine:
HAProxy's rise and fall counting), fed with whether a ``GET`` of that URL
answered 2xx within the check timeout. One that has none is always healthy.
:class:`DataCenterHealth` is the pure part (what is due, what a result does,
who is healthy, one sentence per change); :func:`check_forever` is the loop
that requests the URLs and tells the :class:`~millionscale.geodns.authority.Authority`.

**How soon a failed data center stops being answered**: at most
``fall x inter + timeout`` after it fails (its next check comes within
``inter``, and ``fall`` failures in a row put it down; :data:`POLICY`: 3 x 1 s
+ 0.5 s = 3.5 s). Resolvers then hold the old answer for up to the service's
TTL, so a client moves within TTL + 3.5 s (the zone file's default TTL is
30 s: 33.5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

import httpx
import structlog

from millionscale.geodns.authority import Authority
from millionscale.geodns.zone import DataCenter
from millionscale.lb.health import HealthCheck, HealthPolicy, InitState, Transition

__all__ = ["POLICY", "DataCenterHealth", "check_forever", "detection_bound_s"]

# Faster than a balancer's defaults (2 s, rise 2, fall 3): a data center's loss
# costs every user sent there, and a check per second per data center is cheap.
POLICY = HealthPolicy(inter_s=1.0, timeout_s=0.5, rise=2, fall=3, slow_start_s=0.0)

log = structlog.get_logger()


def detection_bound_s(policy: HealthPolicy = POLICY) -> float:
    """The longest from a data center's failure to its answers stopping."""
    return policy.fall * policy.inter_s + policy.check_timeout_s


class DataCenterHealth:
    """The health of every data center that has a check; pure, on the caller's clock."""

    def __init__(
        self,
        datacenters: Mapping[str, DataCenter],
        *,
        now: float,
        policy: HealthPolicy = POLICY,
    ) -> None:
        self.policy = policy
        self._unchecked = frozenset(n for n, dc in datacenters.items() if dc.check is None)
        # Trusted at start (the balancer's ``init-state up``): a server that starts
        # before its data centers' balancers answers as configured, not with nothing.
        self._checks = {
            name: HealthCheck(name, now=now, policy=policy, init=InitState.UP)
            for name, dc in datacenters.items()
            if dc.check is not None
        }
        self.urls = {name: dc.check for name, dc in datacenters.items() if dc.check is not None}

    def due(self, now: float) -> list[str]:
        """The data centers whose next check has come."""
        return [name for name, check in self._checks.items() if check.next_check_at <= now]

    def next_due_at(self) -> float | None:
        return min((c.next_check_at for c in self._checks.values()), default=None)

    def record(self, name: str, ok: bool, now: float) -> Transition:
        return self._checks[name].on_check(ok, now)

    def healthy(self) -> frozenset[str]:
        serving = {name for name, check in self._checks.items() if check.serving}
        return self._unchecked | serving


async def _probe(client: httpx.AsyncClient, url: str, timeout_s: float) -> bool:
    try:
        response = await client.get(url, timeout=timeout_s)
    except (httpx.HTTPError, OSError):
        return False
    return 200 <= response.status_code < 300


async def check_forever(
    authority: Authority,
    health: DataCenterHealth,
    stop: asyncio.Event,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Check every due data center, tell ``authority`` who is healthy, until ``stop``."""
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while not stop.is_set():
            now = clock()
            due = health.due(now)
            results = await asyncio.gather(
                *(_probe(client, health.urls[name], health.policy.check_timeout_s) for name in due)
            )
            now = clock()
            for name, ok in zip(due, results, strict=True):
                transition = health.record(name, ok, now)
                if transition.changed:
                    log.warning(transition.reason, datacenter=name, state=str(transition.after))
            authority.set_healthy(health.healthy())
            next_at = health.next_due_at()
            wait = 1.0 if next_at is None else max(0.0, next_at - clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

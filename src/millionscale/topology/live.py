"""The supervisor's live view, as discovery snapshots: versioned, with role claims.

:func:`members` maps what the supervisor knows of each process (its resolved
spec, its :class:`~millionscale.topology.supervision.ProcessStatus`) to
discovery :class:`~millionscale.discovery.Member` s; :func:`health` maps a
lifecycle phase to discovery's health. Both are pure.

:class:`LiveView` holds the current :class:`~millionscale.discovery.Snapshot`
between two threads: the supervisor's loop :meth:`~LiveView.publish` es the
members every tick, the control endpoint's event loop reads, claims roles and
waits for a change. Guarantees:

- the version grows by one on every change (members or a role claim) and
  never otherwise: publishing the same members again is not a change; it
  starts at the wall clock in milliseconds, so that a watcher that kept the
  version of a supervisor run before this one still sees this run's views as
  newer (Consul's index has the same need, and resets instead);
- a claim is compare-and-set on the epoch
  (:func:`~millionscale.discovery.settle_claim`) under the view's lock, so two
  claimants racing on one role cannot both win;
- a waiter (:meth:`~LiveView.wait`) is woken as soon as a change is made,
  from whichever thread makes it;
- claims are durable when the view has a ``roles_file``: an accepted claim is
  written there (atomically) before :meth:`~LiveView.claim` returns, and a
  view made on that file starts with them. A registry that forgot its claims
  when restarted would let a topology started again after a failover start
  the old primary as one (Patroni keeps its leader key in etcd for the same
  reason); members are not kept: they are what runs now.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from millionscale.discovery import Health, Member, RoleClaim, Snapshot, settle_claim
from millionscale.topology.lifecycle import Phase
from millionscale.topology.resolve import ResolvedProcess
from millionscale.topology.state import read_claims, write_private
from millionscale.topology.supervision import ProcessStatus

__all__ = ["HEALTH_OF_PHASE", "LiveView", "health", "members"]

HEALTH_OF_PHASE: dict[Phase, Health] = {
    Phase.PENDING: "starting",
    Phase.STARTING: "starting",
    Phase.BACKOFF: "unready",  # exited; waiting out its restart delay
    Phase.READY: "ready",
    Phase.STOPPING: "stopping",
    Phase.STOPPED: "stopped",
    Phase.FAILED: "failed",
}


def health(status: ProcessStatus) -> Health:
    """A process's health as discovery says it: a draining one is ``stopping``."""
    if status.draining and status.phase in (Phase.PENDING, Phase.STARTING, Phase.READY):
        return "stopping"
    return HEALTH_OF_PHASE[status.phase]


def members(
    processes: Mapping[str, ResolvedProcess],
    statuses: Iterable[ProcessStatus],
    roles: Mapping[str, str] | None = None,
) -> tuple[Member, ...]:
    """One member per status, in the statuses' order; ``roles`` overrides a
    process's role from the topology file (a database node's, after a failover)."""
    roles = roles or {}
    out = []
    for status in statuses:
        process = processes[status.name]
        out.append(
            Member(
                name=status.name,
                tier=process.tier,
                host=process.host,
                ports=dict(process.ports),
                role=roles.get(status.name, process.role),
                datacenter=process.datacenter,
                health=health(status),
            )
        )
    return tuple(out)


class LiveView:
    """The current snapshot, shared by the supervisor's loop and the endpoint.

    ``roles_file``, if given, keeps the role claims across runs (see the module
    docstring); :func:`read_claims` raises SupervisorError for one it cannot read.
    """

    def __init__(self, start: int | None = None, *, roles_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._roles_file = roles_file
        roles = read_claims(roles_file) if roles_file is not None else {}
        version = time.time_ns() // 1_000_000 if start is None else start
        self._snapshot = Snapshot(version, roles=roles)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def publish(self, new_members: Iterable[Member]) -> Snapshot:
        """Set the members; a new version only if they changed."""
        new = tuple(new_members)
        with self._lock:
            if new != self._snapshot.members:
                self._change(members=new)
            return self._snapshot

    def claim(self, role: str, holder: str, epoch: int) -> RoleClaim:
        """Compare-and-set ``role`` (raises StaleEpochError); the claim in force."""
        wanted = RoleClaim(holder, epoch)
        with self._lock:
            if settle_claim(role, self._snapshot.roles.get(role), holder, epoch):
                roles = {**self._snapshot.roles, role: wanted}
                if self._roles_file is not None:  # kept before anyone can see it
                    write_private(
                        self._roles_file, Snapshot(0, roles=roles).dumps() + "\n", durable=True
                    )
                self._change(roles=roles)
        return wanted

    async def wait(self, after: int, wait_s: float) -> Snapshot:
        """The first snapshot newer than ``after``, or the current one after ``wait_s``."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            if self._snapshot.version > after:
                return self._snapshot
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(event.wait(), wait_s)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)
        return self.snapshot()

    def _change(self, **changes: object) -> None:
        """A new version with ``changes``; wakes every waiter. Called under the lock."""
        version = self._snapshot.version + 1
        self._snapshot = dataclasses.replace(self._snapshot, version=version, **changes)  # type: ignore[arg-type]
        for loop, event in self._waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)
        self._waiters.clear()

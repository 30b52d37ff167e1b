"""The contract every source of discovery keeps (read side and role claims)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from millionscale.discovery._snapshot import RoleClaim, Snapshot

__all__ = ["Discovery", "RoleRegistry"]


@runtime_checkable
class Discovery(Protocol):
    """Who is where, now and as it changes.

    Contract (what every implementation guarantees, and what it does not):

    - ``snapshot()`` returns the newest view this source holds. It is
      *eventually consistent*: a change (a process started, ready, gone; a
      primary promoted) reaches it after the source learns of it. The
      supervisor's endpoint publishes a change within one supervision tick
      (about 0.1 s) of seeing it; a health change is seen within one readiness
      probe (``readiness.interval_s``). A reader must treat membership and
      health as hints and keep its own checks (the balancer still health-checks
      every backend; the router still asks each node ``pg_is_in_recovery()``).
    - Versions only grow. Two snapshots of one source with the same
      ``version`` are equal; a higher version is never older.
    - ``watch(after)`` yields snapshots whose version is greater than
      ``after`` (every snapshot when ``after`` is None, the current one first),
      each as soon as the source has it. It may skip intermediate versions
      (a reader sees the latest, not every step), never yields one version
      twice, and never yields an older one. It ends only when cancelled or
      when the source is closed; a source that cannot be reached raises
      :class:`~millionscale.errors.DiscoveryError` from ``snapshot()`` and
      keeps retrying inside ``watch()`` (a reader keeps its last view meanwhile).
    - Role claims carry an epoch (a fencing token): the holder of
      ``db/primary`` at epoch 7 supersedes any claim of a lower epoch, whatever
      order the claims arrive in.
    """

    async def snapshot(self) -> Snapshot:
        """The newest view (raises DiscoveryError if the source does not answer)."""
        ...

    def watch(self, after: int | None = None) -> AsyncIterator[Snapshot]:
        """Snapshots newer than version ``after``, as they come."""
        ...


@runtime_checkable
class RoleRegistry(Protocol):
    """Where a role holder says so: ``claim("db/primary", "db-r1", epoch=4)``.

    Contract: compare-and-set on the epoch. A claim whose epoch is greater than
    the role's current epoch replaces it; a claim equal to the current one (same
    holder, same epoch) is accepted again (a retry is harmless); any other claim
    raises :class:`~millionscale.errors.StaleEpochError` naming the current
    holder and epoch. An accepted claim is in every snapshot taken after
    ``claim`` returns.
    """

    async def claim(self, role: str, holder: str, epoch: int) -> RoleClaim:
        """Record ``holder`` as ``role`` at ``epoch``; the claim now in force."""
        ...

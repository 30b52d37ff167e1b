"""One health check of one PostgreSQL node: the query, and what its answer means.

Pure. The router's poller runs :data:`CHECK` on a node's check connection
(:mod:`.pools`) and turns the row into a :class:`NodeHealth` with
:meth:`NodeHealth.answered`; a check that fails (an error, no answer within the
check timeout) is :meth:`NodeHealth.failed`, which keeps the last known replay
position and role.

A node *serves* (:meth:`NodeHealth.serves`) when its last check passed and it
answers in the role the router gives it: the primary not in recovery, a replica
in recovery. A "replica" that answers as a primary is an old primary (fenced
soon); a "primary" in recovery was demoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from millionscale.db.lsn import parse_lsn

__all__ = ["CHECK", "REPLAY_LSN", "NodeHealth"]

# A primary's timeline is the first 8 hex digits of its current WAL file's name: it
# grows by one with every promotion, so after a failover the new primary has the
# highest, and an old primary that answers again (it should have been fenced) loses.
CHECK = (
    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()"
    " THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() END::text,"
    " CASE WHEN pg_is_in_recovery() THEN NULL"
    " ELSE ('x' || substr(pg_walfile_name(pg_current_wal_flush_lsn()), 1, 8))::bit(32)::int END"
)
# A replica's replay position alone: asked between two polls by a read that waits.
REPLAY_LSN = "SELECT pg_last_wal_replay_lsn()::text"


@dataclass(frozen=True, slots=True)
class NodeHealth:
    """What the last check of a node found; ``reason`` says it in a sentence."""

    healthy: bool  # answered the last check
    lsn: int | None  # flushed position on a primary, replayed position on a standby
    reason: str
    in_recovery: bool | None = None  # None until a check has answered
    timeline: int = 0  # a primary's timeline; 0 for a standby or unknown

    @classmethod
    def unknown(cls, reason: str) -> NodeHealth:
        """A node not checked yet (or down at start): out of rotation."""
        return cls(False, None, reason)

    @classmethod
    def answered(cls, row: Sequence[Any]) -> NodeHealth:
        """The health :data:`CHECK`'s row ``(in_recovery, lsn, timeline)`` says."""
        in_recovery = bool(row[0])
        lsn = None if row[1] is None else parse_lsn(row[1])
        role = "in recovery" if in_recovery else "primary"
        return cls(True, lsn, f"health check passed ({role})", in_recovery, row[2] or 0)

    def failed(self, reason: str) -> NodeHealth:
        """Out of rotation for ``reason``; the last known position and role are kept."""
        return replace(self, healthy=False, reason=reason)

    def replayed(self, lsn: int) -> NodeHealth:
        """A newer replay position read between two checks (positions only move forward)."""
        if self.lsn is not None and lsn <= self.lsn:
            return self
        return replace(self, lsn=lsn)

    def serves(self, *, primary: bool) -> bool:
        """In rotation in the role the router gives the node (``primary`` or a replica)."""
        return self.healthy and self.in_recovery is (not primary)

    @property
    def claims_primary(self) -> bool:
        """Answered its last check as a primary (not in recovery)."""
        return self.healthy and self.in_recovery is False

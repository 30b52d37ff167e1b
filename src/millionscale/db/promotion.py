"""Which standby to promote when the primary is lost, and when to refuse.

This is the heart of failover without loss, kept pure: facts in (what each
standby reports), a decision out (:class:`Promote` or :class:`Refuse`, each
with one readable sentence). The monitor process that gathers the facts and
carries the decision out arrives with the rest of the failover work.

The rule, for a primary with ``synchronous_standby_names = 'ANY k (s1..sn)'``:

- a commit was acknowledged only after at least ``k`` of the ``n`` standbys
  had *received* (flushed) its WAL;
- so every acknowledged commit is held by at least one standby in *any* group
  of ``n - k + 1`` standbys (two groups of sizes ``k`` and ``n - k + 1`` out
  of ``n`` always intersect);
- so if at least ``n - k + 1`` standbys report, the one with the highest
  flushed LSN holds every acknowledged commit, and promoting it loses none.

With fewer reports the guarantee is gone. Then the cluster's explicit
``durability`` setting decides: ``strict`` refuses to promote (no write is
accepted until enough standbys are back: availability is given up), and
``available`` promotes the most advanced standby it can reach and says how
much may be lost. Asynchronous replication (``k = 0``) gives no guarantee at
all: the most advanced reachable standby is promoted, and what the primary
had not yet sent is lost (bounded by the replication lag).

Ties on LSN break by name, so the decision is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Decision", "Promote", "Refuse", "StandbyReport", "choose_promotion", "quorum_to_decide"]

Durability = Literal["strict", "available"]


@dataclass(frozen=True, slots=True)
class StandbyReport:
    """What one standby said when asked, after the primary was lost.

    ``flushed_lsn`` is the WAL it has received and written durably
    (``pg_last_wal_receive_lsn()``), the position that synchronous commit
    waits for; ``None`` when it could not be asked.
    """

    name: str
    reachable: bool
    flushed_lsn: int | None
    replayed_lsn: int | None = None


@dataclass(frozen=True, slots=True)
class Promote:
    node: str
    lsn: int
    lossless: bool  # True when every acknowledged commit is guaranteed to be on ``node``
    reason: str


@dataclass(frozen=True, slots=True)
class Refuse:
    reason: str


Decision = Promote | Refuse


def quorum_to_decide(standbys: int, synchronous: int) -> int:
    """How many standbys must report for a lossless choice: ``n - k + 1`` (1 if async)."""
    if synchronous <= 0:
        return 1
    if synchronous > standbys:
        raise ValueError(f"ANY {synchronous} of {standbys} standbys can never be satisfied")
    return standbys - synchronous + 1


def choose_promotion(
    reports: Sequence[StandbyReport],
    *,
    synchronous: int,
    durability: Durability = "strict",
) -> Decision:
    """The standby to promote among ``reports`` (one per configured standby), or why none."""
    standbys = len(reports)
    if standbys == 0:
        return Refuse("no standby is configured: there is nothing to promote")
    needed = quorum_to_decide(standbys, synchronous)
    answered = [r for r in reports if r.reachable and r.flushed_lsn is not None]
    if not answered:
        return Refuse(f"none of the {standbys} standbys answered: nothing can be promoted")
    best = min(answered, key=lambda r: (-(r.flushed_lsn or 0), r.name))
    assert best.flushed_lsn is not None
    count = f"{len(answered)} of {standbys} standbys answered"
    if synchronous <= 0:
        return Promote(
            best.name,
            best.flushed_lsn,
            lossless=False,
            reason=f"{count}; asynchronous replication: promoting {best.name}, the most "
            "advanced, and commits it had not received are lost",
        )
    if len(answered) >= needed:
        return Promote(
            best.name,
            best.flushed_lsn,
            lossless=True,
            reason=f"{count} (ANY {synchronous} needs {needed} to decide): {best.name} has the "
            "highest flushed LSN and so every acknowledged commit",
        )
    if durability == "strict":
        return Refuse(
            f"only {count}; ANY {synchronous} needs {needed} to be sure no acknowledged commit "
            "is lost, and durability is strict: waiting for more standbys"
        )
    return Promote(
        best.name,
        best.flushed_lsn,
        lossless=False,
        reason=f"only {count} (ANY {synchronous} needs {needed}); durability is 'available': "
        f"promoting {best.name}, the most advanced reachable, and acknowledged commits held "
        "only by unreachable standbys may be lost",
    )

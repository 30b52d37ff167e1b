"""How stale a replica may be, from positions alone: an upper bound that needs no clock sync.

``now() - pg_last_xact_replay_timestamp()`` on a replica is the age of the last
transaction it replayed. While the primary is idle that age grows without the
replica being behind at all, and just after a quiet spell the first new write
makes it jump. So the router does not use it. It samples the primary's
flushed WAL position instead, with the (local, monotonic) time the sample was
taken, and keeps a short history::

    if a replica has replayed position P, and the primary had flushed only up to
    P at time t, then the replica holds every commit acknowledged before t:
    it is at most ``now - t`` stale.

:func:`staleness_bound` is that ``now - t`` for the newest such sample, and
``math.inf`` when the replica is behind every sample kept (the history covers
more than the rotation bound, so such a replica is out of rotation anyway).
An idle primary's flushed position does not move, so a caught-up replica
reads as fresh (about one poll interval), which is what it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LsnSample", "keep_recent", "staleness_bound"]


@dataclass(frozen=True, slots=True)
class LsnSample:
    """The primary's flushed WAL position ``lsn``, observed no earlier than time ``at``."""

    at: float
    lsn: int


def staleness_bound(history: Sequence[LsnSample], replay_lsn: int | None, now: float) -> float:
    """Seconds of commits the replica at ``replay_lsn`` may be missing, at most.

    ``history`` is oldest first. ``None`` (the replica reported no position)
    and a replica behind every sample both give ``math.inf``.
    """
    if replay_lsn is None:
        return math.inf
    for sample in reversed(history):
        if sample.lsn <= replay_lsn:
            return max(0.0, now - sample.at)
    return math.inf


def keep_recent(
    history: Sequence[LsnSample], sample: LsnSample, keep_s: float
) -> tuple[LsnSample, ...]:
    """``history`` with ``sample`` appended and samples older than ``keep_s`` dropped.

    The newest sample is always kept, whatever ``keep_s``.
    """
    horizon = sample.at - keep_s
    return (*(s for s in history if s.at >= horizon), sample)

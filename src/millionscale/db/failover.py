"""The failover monitor's decisions: a state machine, pure and on an injected clock.

The monitor process (:mod:`millionscale.db.monitor`) asks every PostgreSQL
node of the cluster what it is (:class:`NodeReport`) twice a second and feeds
the answers to :meth:`FailoverCore.observe`, which returns the actions to
carry out, in order, and keeps a journal of one sentence per decision.
pg_auto_failover's monitor is the model (one monitor decides, nodes obey);
Patroni is the reference for the timings.

States (``FailoverCore.state``) and the events (:class:`Event`) that move
between them, as the table :data:`TRANSITIONS` holds them (taken through a
:class:`~millionscale.statetable.StateTable`; any other move raises
:class:`~millionscale.errors.IllegalTransition`, a bug in the monitor):

============  ======================================  ============
from          on                                      to
============  ======================================  ============
healthy       primary fails a check                   suspect
suspect       primary answers again                   healthy
suspect       failing for ``failover_timeout_s``      fencing
healthy       forced failover                         fencing
suspect       forced failover                         fencing
healthy       switchover target caught up             stopping
stopping      old primary shut down cleanly           electing
stopping      the clean shutdown failed               fencing
fencing       old primary fenced (killed)             electing
electing      a standby qualifies (Promote)           promoting
electing      none qualifies (Refuse)                 electing
electing      old primary answers again               healthy
promoting     promotion succeeded                     healthy
promoting     promotion failed                        electing
============  ======================================  ============

Rules the table keeps:

- **Fence before electing.** A primary the monitor cannot reach may still be
  running and acknowledging commits (a pause, a partition). Its standbys'
  positions are only final once it is stopped, so the monitor kills it first
  (the nodes are local processes: SIGKILL to the process group) and only then
  asks the standbys how much WAL they hold.
- **Kill for a failover, shut down cleanly for a switchover.** A planned
  switchover (Patroni's order) drains the primary (no new write
  transactions), waits for the target to replay what it flushed, then shuts
  it down cleanly (fast shutdown: its WAL senders send everything up to the
  shutdown checkpoint, and wait for the standbys to flush it, before the
  server exits), then elects and promotes. A kill is the fallback only when
  the clean shutdown does not finish.
- **Promote only what holds every acknowledged commit** (:func:`choose_promotion`):
  with ``ANY k`` of ``n`` standbys, ``n - k + 1`` must answer; fewer, and
  ``durability = "strict"`` waits while ``"available"`` promotes and says
  what may be lost.
- **One primary.** While the elected primary is healthy, any other node that
  answers as a primary (the old one restarted by hand, a resumed pause) is
  fenced again at once; a standby that streams from the wrong place is
  re-pointed; a standby that cannot stream for ``rejoin_timeout_s`` is
  reported. A fenced old primary, restarted by the supervisor, is rewound
  (``pg_rewind``) onto the new primary before it starts as its standby.
- **Publish before promoting.** The cluster record names the new primary
  (and a new epoch) before ``pg_promote`` runs, so a fenced node that the
  supervisor restarts in the meantime comes back as a standby of the new
  primary, never as a primary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from millionscale.db.lsn import format_lsn
from millionscale.db.promotion import Durability, Promote, StandbyReport, choose_promotion
from millionscale.errors import SwitchoverRefused
from millionscale.statetable import StateTable

__all__ = [
    "FAILOVER_TIMEOUT_S",
    "REJOIN_TIMEOUT_S",
    "TRANSITIONS",
    "Action",
    "ClusterRecord",
    "ClusterSpec",
    "EnsureSlots",
    "Event",
    "FailoverCore",
    "Fence",
    "Follow",
    "NodeReport",
    "PromoteNode",
    "Publish",
    "ShutDown",
    "State",
    "SwitchoverRefused",
]

# Our default: a primary that fails every check for 3 s is lost. Patroni's ttl is
# 30 s (loop_wait 10 s); pg_auto_failover waits out 2 retries of a 5 s health check
# with 2 s between them (about 20 s). Ours is shorter because the monitor and the
# nodes share a host or a LAN, where a 3 s silence is not congestion.
FAILOVER_TIMEOUT_S = 3.0
# A standby pointed at the primary that has not streamed for this long (a walreceiver
# retries every 5 s: wal_retrieve_retry_interval) is reported as stuck.
REJOIN_TIMEOUT_S = 15.0


class State(StrEnum):
    HEALTHY = "healthy"
    SUSPECT = "suspect"
    STOPPING = "stopping"
    FENCING = "fencing"
    ELECTING = "electing"
    PROMOTING = "promoting"


class Event(StrEnum):
    CHECK_FAILED = "primary fails a check"
    ANSWERS = "primary answers again"
    TIMED_OUT = "primary failing for failover_timeout_s"
    FORCED = "forced failover"
    CAUGHT_UP = "switchover target caught up"
    STOPPED = "old primary shut down cleanly"
    STOP_FAILED = "the clean shutdown failed"
    FENCED = "old primary fenced"
    QUALIFIES = "a standby qualifies"
    NONE_QUALIFIES = "no standby qualifies"
    PRIMARY_BACK = "old primary answers again"
    PROMOTED = "promotion succeeded"
    PROMOTION_FAILED = "promotion failed"


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.HEALTHY, Event.CHECK_FAILED): State.SUSPECT,
    (State.SUSPECT, Event.ANSWERS): State.HEALTHY,
    (State.SUSPECT, Event.TIMED_OUT): State.FENCING,
    (State.HEALTHY, Event.FORCED): State.FENCING,
    (State.SUSPECT, Event.FORCED): State.FENCING,
    (State.HEALTHY, Event.CAUGHT_UP): State.STOPPING,
    (State.STOPPING, Event.STOPPED): State.ELECTING,
    (State.STOPPING, Event.STOP_FAILED): State.FENCING,
    (State.FENCING, Event.FENCED): State.ELECTING,
    (State.ELECTING, Event.QUALIFIES): State.PROMOTING,
    (State.ELECTING, Event.NONE_QUALIFIES): State.ELECTING,
    (State.ELECTING, Event.PRIMARY_BACK): State.HEALTHY,
    (State.PROMOTING, Event.PROMOTED): State.HEALTHY,
    (State.PROMOTING, Event.PROMOTION_FAILED): State.ELECTING,
}
"""(state, event) -> state, the module docstring's table; a pair not in it is illegal."""

_TABLE: StateTable[State, Event] = StateTable(TRANSITIONS, name="failover")


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """The cluster as configured: members (name -> ``host:port``) and its commit rule."""

    members: Mapping[str, str]
    synchronous: int  # ANY k; 0 is asynchronous
    durability: Durability = "strict"
    failover_timeout_s: float = FAILOVER_TIMEOUT_S
    rejoin_timeout_s: float = REJOIN_TIMEOUT_S

    def standbys_of(self, primary: str) -> list[str]:
        return sorted(name for name in self.members if name != primary)


@dataclass(frozen=True, slots=True)
class ClusterRecord:
    """What the monitor publishes (``db-cluster.json``): who is primary, since which epoch.

    ``epoch`` grows by one with every promotion: it is the fencing token of the
    ``db/primary`` claim the monitor makes with each record, through which a
    supervisor learns whether a node it restarts is the primary or a standby,
    and of whom.
    """

    epoch: int
    primary: str
    state: State = State.HEALTHY
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "epoch": self.epoch,
            "primary": self.primary,
            "state": str(self.state),
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ClusterRecord:
        epoch, primary = data.get("epoch"), data.get("primary")
        if not isinstance(epoch, int) or not isinstance(primary, str):
            raise ValueError("a cluster record needs an integer 'epoch' and a 'primary' name")
        state = State(str(data.get("state", "healthy")))
        return cls(epoch, primary, state, str(data.get("reason", "")))


@dataclass(frozen=True, slots=True)
class NodeReport:
    """What one node answered (or that it did not).

    ``flushed_lsn``: a primary's flushed WAL; a standby's received and flushed
    WAL (what synchronous commit waits for). ``upstream``: the ``host:port``
    a standby's ``primary_conninfo`` names; ``streaming``: whether its WAL
    receiver is streaming now. ``slots``: a primary's replication slots.
    """

    name: str
    reachable: bool
    in_recovery: bool | None = None
    flushed_lsn: int | None = None
    upstream: str | None = None
    streaming: bool = False
    slots: frozenset[str] = frozenset()
    error: str = ""

    @property
    def is_primary(self) -> bool:
        return self.reachable and self.in_recovery is False

    @property
    def is_standby(self) -> bool:
        return self.reachable and self.in_recovery is True


@dataclass(frozen=True, slots=True)
class Fence:
    """Stop ``node`` for good (SIGKILL to its process group); the supervisor restarts
    it, and it comes back as a standby of the primary the record names."""

    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class ShutDown:
    """Shut ``node`` down cleanly (a fast shutdown) for a planned switchover: it
    disconnects its clients, writes a shutdown checkpoint and sends its standbys
    every byte of WAL before it exits; the supervisor restarts it as a standby."""

    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class PromoteNode:
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class Follow:
    """Re-point standby ``node`` at ``primary`` (``primary_conninfo`` and reload)."""

    node: str
    primary: str


@dataclass(frozen=True, slots=True)
class EnsureSlots:
    """Create the missing physical replication slots ``slots`` on ``primary``."""

    primary: str
    slots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Publish:
    record: ClusterRecord


Action = Fence | ShutDown | PromoteNode | Follow | EnsureSlots | Publish


def slot_name(node: str) -> str:
    """The replication slot a node holds on the primary (slot names allow no '-')."""
    return node.replace("-", "_")


@dataclass
class FailoverCore:
    """The monitor's memory and decisions; see the module docstring for the rules."""

    spec: ClusterSpec
    record: ClusterRecord
    clock: Callable[[], float] = time.monotonic
    journal: list[str] = field(default_factory=list)
    state: State = State.HEALTHY
    _suspect_since: float | None = None
    _not_streaming_since: dict[str, float] = field(default_factory=dict)
    _stuck: set[str] = field(default_factory=set)
    _refusal: str = ""
    _excluded: set[str] = field(default_factory=set)
    _forced: str = ""
    _preferred: str | None = None

    @property
    def planned(self) -> bool:
        """Whether the promotion under way is a planned switchover's."""
        return self._preferred is not None

    # -- inputs ----------------------------------------------------------------

    def observe(self, reports: Mapping[str, NodeReport]) -> list[Action]:
        """The actions for one round of reports (one per member; missing = unreachable)."""
        reports = {
            name: reports.get(name) or NodeReport(name, reachable=False, error="no report")
            for name in self.spec.members
        }
        match self.state:
            case State.HEALTHY | State.SUSPECT:
                return self._watch(reports)
            case State.STOPPING:
                return []  # waiting for stopped() or stop_failed()
            case State.FENCING:
                return []  # waiting for fenced()
            case State.ELECTING:
                return self._elect(reports)
            case State.PROMOTING:
                return []  # waiting for promoted() or promotion_failed()
        raise AssertionError(self.state)  # pragma: no cover

    def fenced(self, node: str) -> None:
        """The shell stopped ``node``: the standbys' positions are now final."""
        if self.state is State.FENCING:
            self._move(Event.FENCED, f"fenced {node}; asking the standbys how much WAL they hold")

    def stopped(self, node: str) -> None:
        """The shell shut ``node`` down cleanly: every standby holds its last WAL."""
        if self.state is State.STOPPING:
            self._move(
                Event.STOPPED,
                f"{node} shut down cleanly; asking the standbys how much WAL they hold",
            )

    def stop_failed(self, node: str, reason: str) -> list[Action]:
        """The clean shutdown of ``node`` did not finish: fence it, as a failover would."""
        self._move(Event.STOP_FAILED, f"shutting {node} down failed ({reason}); fencing it")
        return [Fence(node, f"{self._forced}; the clean shutdown failed: {reason}")]

    def promoted(self, node: str) -> list[Action]:
        self._excluded.clear()
        self._suspect_since = None
        self._forced = ""
        self._preferred = None
        self._move(Event.PROMOTED, f"{node} is the primary of epoch {self.record.epoch}")
        self.record = replace(self.record, state=State.HEALTHY, reason=self.journal[-1])
        return [Publish(self.record)]

    def promotion_failed(self, node: str, reason: str) -> None:
        self._excluded.add(node)
        self._move(Event.PROMOTION_FAILED, f"promoting {node} failed ({reason}); electing another")

    def force_failover(self, reason: str) -> None:
        """``db failover``: treat the primary as lost now, whatever it answers."""
        if self.state not in (State.HEALTHY, State.SUSPECT):
            raise SwitchoverRefused(f"a failover is already under way ({self.state})")
        if not self.spec.standbys_of(self.record.primary):
            raise SwitchoverRefused("the cluster has no standby to fail over to")
        self._forced = reason

    def check_switchover(self, to: str | None, reports: Mapping[str, NodeReport]) -> str:
        """The standby a planned switchover would promote, or :class:`SwitchoverRefused`."""
        primary = self.record.primary
        if self.state is not State.HEALTHY:
            raise SwitchoverRefused(f"the cluster is {self.state}, not healthy: try again later")
        if not reports.get(primary, NodeReport(primary, False)).is_primary:
            raise SwitchoverRefused(f"the primary {primary} is not answering as a primary")
        candidates = [
            r for r in reports.values() if r.name != primary and r.is_standby and r.streaming
        ]
        if to is not None:
            if to not in self.spec.members:
                known = ", ".join(sorted(self.spec.members))
                raise SwitchoverRefused(f"{to!r} is not a node of this cluster (nodes: {known})")
            if to == primary:
                raise SwitchoverRefused(f"{to} is already the primary")
            if to not in {r.name for r in candidates}:
                raise SwitchoverRefused(f"{to} is not a streaming standby now")
            return to
        if not candidates:
            raise SwitchoverRefused("no standby is streaming from the primary now")
        return min(candidates, key=lambda r: (-(r.flushed_lsn or 0), r.name)).name

    def begin_switchover(self, target: str, reason: str) -> list[Action]:
        """A planned switchover, once the drained primary's WAL is on ``target``: shut
        the old primary down cleanly, then elect as in a failover, preferring
        ``target`` when it holds as much WAL as the best standby (it does unless a
        commit slipped in)."""
        if self.state is not State.HEALTHY:
            raise SwitchoverRefused(f"the cluster is {self.state}, not healthy: try again later")
        old = self.record.primary
        self._forced = f"switchover to {target}: {reason}"
        self._preferred = target
        self._move(Event.CAUGHT_UP, f"{self._forced}; shutting {old} down cleanly")
        return [ShutDown(old, self._forced)]

    # -- the rules -----------------------------------------------------------------

    def _watch(self, reports: Mapping[str, NodeReport]) -> list[Action]:
        primary = self.record.primary
        now = self.clock()
        here = reports[primary]
        if here.is_primary and not self._forced:
            if self.state is State.SUSPECT:
                lost = now - (self._suspect_since or now)
                self._move(Event.ANSWERS, f"{primary} answers again after {lost:.1f} s")
            self._suspect_since = None
            return self._keep_in_line(primary, reports, now)
        event = Event.FORCED
        if self._forced:
            reason = f"failover forced: {self._forced}"
        else:
            if self._suspect_since is None:
                self._suspect_since = now
                why = here.error or "answers as a standby"
                self._move(Event.CHECK_FAILED, f"{primary} failed a check: {why}")
            silent = now - self._suspect_since
            if silent < self.spec.failover_timeout_s:
                return []
            reason = f"{primary} failed every check for {silent:.1f} s"
            event = Event.TIMED_OUT
        self._move(event, f"{reason}; fencing it before electing a standby")
        return [Fence(primary, reason)]

    def _keep_in_line(
        self, primary: str, reports: Mapping[str, NodeReport], now: float
    ) -> list[Action]:
        actions: list[Action] = []
        address = self.spec.members[primary]
        for name in self.spec.standbys_of(primary):
            report = reports[name]
            if report.is_primary:
                reason = (
                    f"{name} answers as a primary, but {primary} is (epoch {self.record.epoch})"
                )
                self.journal.append(f"fencing {name}: {reason}")
                actions.append(Fence(name, reason))
            elif report.is_standby and report.upstream != address:
                actions.append(Follow(name, primary))
            if report.is_standby and report.upstream == address and not report.streaming:
                since = self._not_streaming_since.setdefault(name, now)
                if now - since >= self.spec.rejoin_timeout_s and name not in self._stuck:
                    self._stuck.add(name)
                    self.journal.append(
                        f"{name} has not streamed from {primary} for {now - since:.0f} s: it may "
                        "hold WAL the primary never had (asynchronous mode); rebuild it"
                    )
            else:
                self._not_streaming_since.pop(name, None)
                self._stuck.discard(name)
        missing = tuple(
            slot_name(n)
            for n in self.spec.standbys_of(primary)
            if slot_name(n) not in reports[primary].slots
        )
        if missing:
            actions.append(EnsureSlots(primary, missing))
        return actions

    def _elect(self, reports: Mapping[str, NodeReport]) -> list[Action]:
        old = self.record.primary
        if reports[old].is_primary:
            # Restarted in place while no standby qualified: nothing to promote.
            self._excluded.clear()
            self._suspect_since = None
            self._forced, self._preferred = "", None
            self._move(Event.PRIMARY_BACK, f"{old} answers as the primary again; no promotion")
            self.record = replace(self.record, state=State.HEALTHY, reason=self.journal[-1])
            return [Publish(self.record)]
        decision = choose_promotion(
            [
                StandbyReport(
                    name,
                    reports[name].is_standby and name not in self._excluded,
                    reports[name].flushed_lsn,
                )
                for name in self.spec.standbys_of(old)
            ],
            synchronous=self.spec.synchronous,
            durability=self.spec.durability,
        )
        if not isinstance(decision, Promote):
            if decision.reason == self._refusal:
                return []
            self._refusal = decision.reason
            self._move(Event.NONE_QUALIFIES, f"not promoting: {decision.reason}")
            self.record = replace(self.record, state=State.ELECTING, reason=decision.reason)
            return [Publish(self.record)]
        self._refusal = ""
        node, reason = decision.node, decision.reason
        preferred = reports.get(self._preferred or "")
        if (
            preferred is not None
            and preferred.name != node
            and preferred.name not in self._excluded
            and preferred.is_standby
            and preferred.flushed_lsn == decision.lsn
        ):
            node, reason = preferred.name, f"{reason}; {preferred.name}, as asked, holds as much"
        return self._announce(node, f"{reason} (at {format_lsn(decision.lsn)})")

    def _announce(self, node: str, reason: str) -> list[Action]:
        self.record = ClusterRecord(self.record.epoch + 1, node, State.PROMOTING, reason)
        self._move(Event.QUALIFIES, f"promoting {node} (epoch {self.record.epoch}): {reason}")
        return [Publish(self.record), PromoteNode(node, reason)]

    def _move(self, event: Event, sentence: str) -> None:
        self.state = _TABLE.fire(self.state, event)
        self.journal.append(sentence)

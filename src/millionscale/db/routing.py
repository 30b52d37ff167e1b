"""Where a read goes: the routing decision, pure and typed (no sockets, time passed in).

Rules, in order (each decision carries a one-line ``reason`` saying which applied):

1. Writes and :class:`Strong` reads use the primary.
2. A replica is *in rotation* when its last health check passed and its
   staleness bound (:mod:`millionscale.db.staleness`) is within
   :attr:`RoutingPolicy.max_lag_s`. Only replicas in rotation serve reads.
3. :class:`Eventual` reads use any replica in rotation;
   :class:`BoundedStaleness` ones only a replica whose bound is within theirs;
   :class:`ReadYourWrites` ones only a replica that has replayed ``min_lsn``.
4. Nearest first (MongoDB's ``nearest`` read preference, by data center):
   the eligible replicas in the router's own data center (``local``); with
   none there, the primary if it is there and in rotation; else every
   eligible replica. A router that knows no data center takes every node for
   local. Among those, two are drawn at random (the "power of two choices",
   Mitzenmacher 2001) and the one with fewer outstanding requests wins, then
   the lower lag; a single one is used as is.
5. No eligible replica: a read-your-writes read with some replica in rotation
   that may still catch up waits until ``started_at + catch_up_wait_s`` (the
   shell re-asks after each health poll); every other case, and that one
   past its deadline, falls back to the primary. A read is never refused.
6. A read or write whose node is the primary while the primary is out of
   rotation (it failed its last check, or no longer answers as a primary)
   waits for a primary (:class:`WaitForPrimary`): the shell re-decides after
   each health poll, so the work runs on the next primary as soon as one
   answers, or on a replica that qualifies meanwhile. It never enters the pool
   of a node known to be down, where it could only wait out the acquire timeout.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from millionscale.db.lsn import format_lsn

__all__ = [
    "BoundedStaleness",
    "Consistency",
    "Decision",
    "Eventual",
    "NodeState",
    "ReadYourWrites",
    "Role",
    "Routing",
    "RoutingPolicy",
    "Strong",
    "UseNode",
    "WaitForPrimary",
    "WaitUntil",
]

# Our choice: a replica 10 s behind serves pages visibly out of date. The peers'
# equivalents are off by default (ProxySQL's max_replication_lag = 0, pgpool-II's
# delay_threshold = 0), which lets a replica that stopped replaying serve forever.
MAX_LAG_S = 10.0
# Our choice: two health polls (200 ms each) plus replay time on a LAN (a few ms).
CATCH_UP_WAIT_S = 0.5


class Role(StrEnum):
    PRIMARY = "primary"
    REPLICA = "replica"


@dataclass(frozen=True, slots=True)
class NodeState:
    """What the router knows of one node at decision time.

    ``replay_lsn`` is the last replayed position for a replica (the flushed
    position for the primary), as of the last poll: it may be older than the
    truth, never newer, so decisions from it err towards the primary.
    ``lag_s`` is the staleness upper bound; ``outstanding`` the reads the
    router has running on the node now; ``local`` whether it stands in the
    router's data center.
    """

    name: str
    role: Role
    healthy: bool = True
    replay_lsn: int | None = None
    lag_s: float = 0.0
    outstanding: int = 0
    local: bool = True  # in the router's own data center (every node, when it has none)


@dataclass(frozen=True, slots=True)
class Strong:
    """Read on the primary: sees every committed write."""


@dataclass(frozen=True, slots=True)
class ReadYourWrites:
    """See every write up to ``min_lsn`` (the session's last commit), and data at most
    ``max_lag_s`` of the policy stale otherwise. ``None``: the session has not written."""

    min_lsn: int | None = None


@dataclass(frozen=True, slots=True)
class BoundedStaleness:
    """See every commit acknowledged more than ``max_lag_s`` seconds ago."""

    max_lag_s: float


@dataclass(frozen=True, slots=True)
class Eventual:
    """Any replica in rotation (stale by at most the policy's ``max_lag_s``).

    Called ``Eventual`` rather than ``Any`` so as not to shadow ``typing.Any``.
    """


Consistency = Strong | ReadYourWrites | BoundedStaleness | Eventual


@dataclass(frozen=True, slots=True)
class UseNode:
    """Run the read on ``node``; ``fallback`` when a replica was wanted but none could serve."""

    node: str
    reason: str
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class WaitUntil:
    """No replica has caught up yet: ask again after the next health poll, at the latest
    at ``deadline``, when the answer will be the primary."""

    deadline: float
    reason: str


@dataclass(frozen=True, slots=True)
class WaitForPrimary:
    """The work needs the primary and the primary is out of rotation: ask again after
    the next health poll (the shell bounds the wait by its failover wait)."""

    reason: str


Decision = UseNode | WaitUntil | WaitForPrimary


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    max_lag_s: float = MAX_LAG_S
    catch_up_wait_s: float = CATCH_UP_WAIT_S

    def __post_init__(self) -> None:
        if self.max_lag_s < 0 or self.catch_up_wait_s < 0:
            raise ValueError("max_lag_s and catch_up_wait_s must not be negative")


class Routing:
    """The decision: :meth:`read` for reads, :meth:`write` for writes and transactions.

    ``rng`` draws the two candidates; inject ``random.Random(seed)`` for
    repeatable tests. Holds no other state: the same facts give the same
    decision.
    """

    def __init__(self, policy: RoutingPolicy | None = None, rng: random.Random | None = None):
        self.policy = policy or RoutingPolicy()
        self._rng = rng or random.Random()

    def write(self, nodes: Sequence[NodeState]) -> UseNode | WaitForPrimary:
        return _on_primary(nodes, UseNode(_primary(nodes).name, "writes go to the primary"))

    def read(
        self,
        nodes: Sequence[NodeState],
        consistency: Consistency,
        *,
        now: float,
        started_at: float | None = None,
        exclude: Collection[str] = (),
    ) -> Decision:
        """Where a read asked at ``started_at`` (default ``now``) should run at ``now``.

        ``exclude`` names nodes a first attempt failed on; the primary is never
        excluded, since it is every read's last resort.
        """
        decision = self._read(nodes, consistency, now, started_at, exclude)
        return _on_primary(nodes, decision) if isinstance(decision, UseNode) else decision

    def _read(
        self,
        nodes: Sequence[NodeState],
        consistency: Consistency,
        now: float,
        started_at: float | None,
        exclude: Collection[str],
    ) -> UseNode | WaitUntil:
        primary = _primary(nodes)
        if isinstance(consistency, Strong):
            return UseNode(primary.name, "strong read goes to the primary")
        in_rotation = [
            n
            for n in nodes
            if n.role is Role.REPLICA
            and n.healthy
            and n.name not in exclude
            and n.lag_s <= self.policy.max_lag_s
        ]
        if not in_rotation:
            return UseNode(primary.name, "no replica in rotation; primary", fallback=True)
        match consistency:
            case Eventual():
                eligible, wanted = in_rotation, "in rotation"
            case BoundedStaleness(max_lag_s=bound):
                eligible = [n for n in in_rotation if n.lag_s <= bound]
                wanted = f"within {bound:g} s of lag"
            case ReadYourWrites(min_lsn=None):
                eligible, wanted = in_rotation, "in rotation"
            case ReadYourWrites(min_lsn=int() as min_lsn):
                eligible = [
                    n for n in in_rotation if n.replay_lsn is not None and n.replay_lsn >= min_lsn
                ]
                wanted = f"at {format_lsn(min_lsn)}"
        if eligible:
            near = [n for n in eligible if n.local]
            if not near and primary.local and primary.healthy:  # next door beats far away
                return UseNode(
                    primary.name, f"no replica {wanted} in this data center; the primary is here"
                )
            chosen = self._choose(near or eligible)
            return UseNode(chosen.name, f"replica {chosen.name} is {wanted}, {_load(chosen)}")
        if isinstance(consistency, ReadYourWrites):
            deadline = (now if started_at is None else started_at) + self.policy.catch_up_wait_s
            if now < deadline:
                return WaitUntil(deadline, f"no replica {wanted} yet; waiting until {deadline:g}")
            return UseNode(
                primary.name,
                f"no replica {wanted} within {self.policy.catch_up_wait_s:g} s; primary",
                fallback=True,
            )
        return UseNode(primary.name, f"no replica {wanted}; primary", fallback=True)

    def _choose(self, eligible: Sequence[NodeState]) -> NodeState:
        if len(eligible) == 1:
            return eligible[0]
        first, second = self._rng.sample(list(eligible), 2)
        return min(first, second, key=lambda n: (n.outstanding, n.lag_s))


def _load(node: NodeState) -> str:
    return f"{node.outstanding} outstanding, lag {node.lag_s:.3g} s"


def _on_primary(nodes: Sequence[NodeState], decision: UseNode) -> UseNode | WaitForPrimary:
    """``decision``, unless it names the primary while the primary is out of rotation."""
    primary = _primary(nodes)
    if decision.node != primary.name or primary.healthy:
        return decision
    return WaitForPrimary(f"{decision.reason}, which is out of rotation: waiting for a primary")


def _primary(nodes: Sequence[NodeState]) -> NodeState:
    for node in nodes:
        if node.role is Role.PRIMARY:
            return node
    raise ValueError("the node states name no primary")

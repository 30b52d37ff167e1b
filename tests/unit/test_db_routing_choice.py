"""Among eligible replicas, two are drawn and the less busy wins, then the less behind."""

import random
from collections import Counter

import pytest

from millionscale.db import Eventual, NodeState, Role, Routing, UseNode

NOW = 1000.0
PRIMARY = NodeState("primary", Role.PRIMARY, replay_lsn=100)


def replica(name: str, *, outstanding: int = 0, lag_s: float = 0.1) -> NodeState:
    return NodeState(name, Role.REPLICA, replay_lsn=100, lag_s=lag_s, outstanding=outstanding)


@pytest.mark.parametrize("seed", range(5))
def test_of_two_replicas_the_one_with_fewer_outstanding_reads_wins(seed):
    nodes = [
        PRIMARY,
        replica("busy", outstanding=3, lag_s=0.0),
        replica("idle", outstanding=1, lag_s=2.0),
    ]

    decision = Routing(rng=random.Random(seed)).read(nodes, Eventual(), now=NOW)

    assert decision == UseNode("idle", "replica idle is in rotation, 1 outstanding, lag 2 s")


@pytest.mark.parametrize("seed", range(5))
def test_with_equal_load_the_replica_with_less_lag_wins(seed):
    nodes = [PRIMARY, replica("behind", lag_s=0.6), replica("ahead", lag_s=0.2)]

    decision = Routing(rng=random.Random(seed)).read(nodes, Eventual(), now=NOW)

    assert isinstance(decision, UseNode)
    assert decision.node == "ahead"


def test_equal_replicas_share_the_reads():
    nodes = [PRIMARY, replica("r1"), replica("r2"), replica("r3")]
    routing = Routing(rng=random.Random(7))

    picks = Counter(
        d.node
        for d in (routing.read(nodes, Eventual(), now=NOW) for _ in range(300))
        if isinstance(d, UseNode)
    )

    assert set(picks) == {"r1", "r2", "r3"}
    assert min(picks.values()) > 50


def test_the_most_loaded_of_three_is_never_chosen():
    nodes = [
        PRIMARY,
        replica("a", outstanding=0),
        replica("b", outstanding=1),
        replica("c", outstanding=9),
    ]
    routing = Routing(rng=random.Random(3))

    picks = {
        d.node
        for d in (routing.read(nodes, Eventual(), now=NOW) for _ in range(100))
        if isinstance(d, UseNode)
    }

    assert "c" not in picks

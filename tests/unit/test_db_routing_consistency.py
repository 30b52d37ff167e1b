"""Each consistency mode reads from the nodes its guarantee allows, and says why."""

import random

from millionscale.db import (
    BoundedStaleness,
    Eventual,
    NodeState,
    ReadYourWrites,
    Role,
    Routing,
    Strong,
    UseNode,
    parse_lsn,
)

NOW = 1000.0


def primary() -> NodeState:
    return NodeState("primary", Role.PRIMARY, replay_lsn=parse_lsn("0/5000"))


def replica(name: str, *, lsn: str = "0/5000", lag_s: float = 0.1) -> NodeState:
    return NodeState(name, Role.REPLICA, replay_lsn=parse_lsn(lsn), lag_s=lag_s)


def test_a_strong_read_goes_to_the_primary_even_with_fresh_replicas():
    decision = Routing().read([primary(), replica("r1")], Strong(), now=NOW)

    assert decision == UseNode("primary", "strong read goes to the primary")


def test_writes_go_to_the_primary():
    assert Routing().write([replica("r1"), primary()]) == UseNode(
        "primary", "writes go to the primary"
    )


def test_an_eventual_read_goes_to_a_replica_in_rotation():
    decision = Routing().read([primary(), replica("r1", lag_s=3.0)], Eventual(), now=NOW)

    assert decision == UseNode("r1", "replica r1 is in rotation, 0 outstanding, lag 3 s")


def test_read_your_writes_skips_a_replica_that_has_not_replayed_the_write():
    nodes = [primary(), replica("behind", lsn="0/4FFF"), replica("caught_up", lsn="0/5000")]

    decision = Routing(rng=random.Random(1)).read(
        nodes, ReadYourWrites(parse_lsn("0/5000")), now=NOW
    )

    assert decision == UseNode(
        "caught_up", "replica caught_up is at 0/5000, 0 outstanding, lag 0.1 s"
    )


def test_read_your_writes_without_a_write_reads_any_replica_in_rotation():
    decision = Routing().read([primary(), replica("r1", lsn="0/1")], ReadYourWrites(), now=NOW)

    assert isinstance(decision, UseNode)
    assert decision.node == "r1"


def test_bounded_staleness_skips_replicas_beyond_its_bound():
    nodes = [primary(), replica("slow", lag_s=2.0), replica("fresh", lag_s=0.2)]

    decision = Routing(rng=random.Random(1)).read(nodes, BoundedStaleness(0.5), now=NOW)

    assert decision == UseNode(
        "fresh", "replica fresh is within 0.5 s of lag, 0 outstanding, lag 0.2 s"
    )


def test_bounded_staleness_with_no_fresh_enough_replica_reads_the_primary_at_once():
    decision = Routing().read([primary(), replica("slow", lag_s=2.0)], BoundedStaleness(1), now=NOW)

    assert decision == UseNode("primary", "no replica within 1 s of lag; primary", fallback=True)

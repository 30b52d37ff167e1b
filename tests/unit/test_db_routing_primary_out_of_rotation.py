"""Work that needs the primary while it is out of rotation waits for a primary.

The primary's pool, once it failed a check, can only reconnect in the
background: the routing core never sends work there, so no request waits out
the pool's acquire timeout. Replicas keep serving the reads they qualify for.
"""

from millionscale.db import (
    Eventual,
    NodeState,
    ReadYourWrites,
    Role,
    Routing,
    Strong,
    UseNode,
    WaitForPrimary,
    WaitUntil,
)

NOW = 1000.0
DOWN = NodeState("primary", Role.PRIMARY, healthy=False, replay_lsn=100)
UP = NodeState("primary", Role.PRIMARY, replay_lsn=100)
R1 = NodeState("r1", Role.REPLICA, replay_lsn=100)


def test_a_strong_read_waits_for_a_primary_while_it_is_out_of_rotation():
    decision = Routing().read([DOWN, R1], Strong(), now=NOW)

    assert decision == WaitForPrimary(
        "strong read goes to the primary, which is out of rotation: waiting for a primary"
    )


def test_a_write_waits_for_a_primary_while_it_is_out_of_rotation():
    decision = Routing().write([DOWN, R1])

    assert decision == WaitForPrimary(
        "writes go to the primary, which is out of rotation: waiting for a primary"
    )


def test_a_read_falling_back_to_a_primary_out_of_rotation_waits_for_one():
    dead_replica = NodeState("r1", Role.REPLICA, healthy=False, replay_lsn=100)

    decision = Routing().read([DOWN, dead_replica], Eventual(), now=NOW)

    assert decision == WaitForPrimary(
        "no replica in rotation; primary, which is out of rotation: waiting for a primary"
    )


def test_a_read_your_writes_read_past_its_catch_up_wait_waits_for_a_primary():
    behind = NodeState("r1", Role.REPLICA, replay_lsn=50)
    routing = Routing()

    during = routing.read([DOWN, behind], ReadYourWrites(100), now=NOW, started_at=NOW)
    after = routing.read([DOWN, behind], ReadYourWrites(100), now=NOW + 1, started_at=NOW)

    assert isinstance(during, WaitUntil)  # a replica may still catch up
    assert isinstance(after, WaitForPrimary)


def test_replicas_keep_serving_the_reads_they_qualify_for_while_the_primary_is_out():
    decision = Routing().read([DOWN, R1], ReadYourWrites(100), now=NOW)

    assert isinstance(decision, UseNode)
    assert decision.node == "r1"


def test_a_primary_in_rotation_takes_its_work_as_before():
    assert Routing().read([UP, R1], Strong(), now=NOW) == UseNode(
        "primary", "strong read goes to the primary"
    )
    assert Routing().write([UP, R1]) == UseNode("primary", "writes go to the primary")

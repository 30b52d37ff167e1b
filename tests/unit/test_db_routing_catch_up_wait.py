"""Read-your-writes waits a bounded time for a replica to catch up, then reads the primary."""

from millionscale.db import (
    NodeState,
    ReadYourWrites,
    Role,
    Routing,
    RoutingPolicy,
    UseNode,
    WaitUntil,
)
from millionscale.testing import FakeClock

PRIMARY = NodeState("primary", Role.PRIMARY, replay_lsn=200)
WRITE = ReadYourWrites(min_lsn=200)


def behind() -> NodeState:
    return NodeState("r1", Role.REPLICA, replay_lsn=150, lag_s=0.2)


def test_while_a_replica_may_catch_up_the_read_waits_until_the_deadline():
    clock = FakeClock()
    routing = Routing(RoutingPolicy(catch_up_wait_s=0.5))

    decision = routing.read([PRIMARY, behind()], WRITE, now=clock(), started_at=clock())

    assert decision == WaitUntil(1000.5, "no replica at 0/C8 yet; waiting until 1000.5")


def test_a_replica_that_catches_up_before_the_deadline_serves_the_read():
    clock = FakeClock()
    routing = Routing(RoutingPolicy(catch_up_wait_s=0.5))
    started = clock()
    clock.jump(0.3)
    caught_up = NodeState("r1", Role.REPLICA, replay_lsn=200, lag_s=0.1)

    decision = routing.read([PRIMARY, caught_up], WRITE, now=clock(), started_at=started)

    assert decision == UseNode("r1", "replica r1 is at 0/C8, 0 outstanding, lag 0.1 s")


def test_at_the_deadline_the_read_falls_back_to_the_primary():
    clock = FakeClock()
    routing = Routing(RoutingPolicy(catch_up_wait_s=0.5))
    started = clock()
    clock.jump(0.5)

    decision = routing.read([PRIMARY, behind()], WRITE, now=clock(), started_at=started)

    assert decision == UseNode("primary", "no replica at 0/C8 within 0.5 s; primary", fallback=True)


def test_with_no_replica_in_rotation_there_is_nothing_to_wait_for():
    dead = NodeState("r1", Role.REPLICA, healthy=False, replay_lsn=150)

    decision = Routing().read([PRIMARY, dead], WRITE, now=1000.0)

    assert decision == UseNode("primary", "no replica in rotation; primary", fallback=True)


def test_a_zero_wait_policy_goes_straight_to_the_primary():
    decision = Routing(RoutingPolicy(catch_up_wait_s=0)).read(
        [PRIMARY, behind()], WRITE, now=1000.0
    )

    assert decision == UseNode("primary", "no replica at 0/C8 within 0 s; primary", fallback=True)

"""A replica that failed its last health check or lags beyond the bound serves no read."""

import math

from millionscale.db import (
    Eventual,
    NodeState,
    ReadYourWrites,
    Role,
    Routing,
    RoutingPolicy,
    UseNode,
)

NOW = 1000.0
PRIMARY = NodeState("primary", Role.PRIMARY, replay_lsn=100)


def test_an_unhealthy_replica_is_out_of_rotation():
    dead = NodeState("r1", Role.REPLICA, healthy=False, replay_lsn=100)

    decision = Routing().read([PRIMARY, dead], Eventual(), now=NOW)

    assert decision == UseNode("primary", "no replica in rotation; primary", fallback=True)


def test_a_replica_lagging_beyond_the_bound_is_out_of_rotation_for_every_mode():
    lagging = NodeState("r1", Role.REPLICA, replay_lsn=100, lag_s=5.01)
    routing = Routing(RoutingPolicy(max_lag_s=5.0))

    decisions = {
        routing.read([PRIMARY, lagging], mode, now=NOW)
        for mode in (Eventual(), ReadYourWrites(100))
    }

    assert decisions == {UseNode("primary", "no replica in rotation; primary", fallback=True)}


def test_a_replica_exactly_at_the_bound_is_still_in_rotation():
    at_bound = NodeState("r1", Role.REPLICA, replay_lsn=100, lag_s=5.0)

    decision = Routing(RoutingPolicy(max_lag_s=5.0)).read([PRIMARY, at_bound], Eventual(), now=NOW)

    assert isinstance(decision, UseNode)
    assert decision.node == "r1"


def test_a_replica_with_unknown_staleness_is_out_of_rotation():
    unknown = NodeState("r1", Role.REPLICA, replay_lsn=None, lag_s=math.inf)

    decision = Routing().read([PRIMARY, unknown], Eventual(), now=NOW)

    assert decision == UseNode("primary", "no replica in rotation; primary", fallback=True)


def test_a_replica_a_read_just_failed_on_is_excluded_from_its_retry():
    r1 = NodeState("r1", Role.REPLICA, replay_lsn=100)
    r2 = NodeState("r2", Role.REPLICA, replay_lsn=100)

    decision = Routing().read([PRIMARY, r1, r2], Eventual(), now=NOW, exclude={"r1"})

    assert decision == UseNode("r2", "replica r2 is in rotation, 0 outstanding, lag 0 s")


def test_the_primary_is_never_excluded_being_the_last_resort():
    decision = Routing().read([PRIMARY], Eventual(), now=NOW, exclude={"primary"})

    assert decision == UseNode("primary", "no replica in rotation; primary", fallback=True)

"""Least outstanding requests: the least loaded per unit of weight; ties in turn."""

from lb_factories import tally

from millionscale.lb import BackendView, LeastOutstanding, Pick


def test_the_backend_with_fewest_requests_in_flight_is_picked():
    views = [BackendView("busy", outstanding=4), BackendView("idle", outstanding=1)]

    decision = LeastOutstanding().pick(views)

    assert decision == Pick("idle", "idle is the least loaded (1 outstanding)")


def test_load_is_counted_per_unit_of_weight():
    views = [BackendView("big", weight=4, outstanding=5), BackendView("small", outstanding=2)]

    decision = LeastOutstanding().pick(views)

    assert decision == Pick("big", "big is the least loaded (5 outstanding for weight 4)")


def test_equally_loaded_backends_are_taken_in_turn():
    views = [BackendView("a"), BackendView("b"), BackendView("c")]
    policy = LeastOutstanding()

    picks = tally(policy, views, 30)

    assert picks == {"a": 10, "b": 10, "c": 10}

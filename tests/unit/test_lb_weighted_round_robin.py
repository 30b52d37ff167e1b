"""Smooth weighted round-robin (nginx): exact shares per cycle, spread out."""

from hypothesis import given
from hypothesis import strategies as st
from lb_factories import chosen, tally

from millionscale.lb import BackendView, WeightedRoundRobin


@given(weights=st.lists(st.integers(1, 20), min_size=1, max_size=8), cycles=st.integers(1, 3))
def test_every_full_cycle_gives_each_backend_exactly_its_weight(weights, cycles):
    views = [BackendView(f"web-{i}", weight=w) for i, w in enumerate(weights)]
    policy = WeightedRoundRobin()

    picks = tally(policy, views, sum(weights) * cycles)

    assert picks == {v.name: v.weight * cycles for v in views}


def test_picks_are_spread_not_bunched_as_in_nginx():
    views = [BackendView("a", weight=5), BackendView("b", weight=1), BackendView("c", weight=1)]
    policy = WeightedRoundRobin()

    sequence = "".join(chosen(policy, views) for _ in range(7))

    assert sequence == "aabacaa"


def test_the_reason_gives_the_weight_and_the_total():
    views = [BackendView("a", weight=3), BackendView("b", weight=1)]

    decision = WeightedRoundRobin().pick(views)

    assert decision.reason == "a is due by weight (weight 3 of 4)"


def test_a_warming_backend_gets_its_slow_start_share():
    views = [BackendView("warm", weight=1), BackendView("new", weight=1, slow_start=0.25)]
    policy = WeightedRoundRobin()

    picks = tally(policy, views, 500)

    assert picks == {"warm": 400, "new": 100}


def test_a_weight_of_zero_takes_no_request():
    views = [BackendView("a", weight=2), BackendView("drained", weight=0)]
    policy = WeightedRoundRobin()

    picked = set(tally(policy, views, 10))

    assert picked == {"a"}

"""Power of two choices over peak-EWMA latency: the default policy."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lb_factories import chosen, tally

from millionscale.lb import BackendView, Pick, PowerOfTwoChoices, make_policy

view_lists = st.lists(
    st.builds(
        BackendView,
        name=st.sampled_from([f"web-{i}" for i in range(6)]),
        weight=st.integers(0, 5),
        eligible=st.booleans(),
        outstanding=st.integers(0, 50),
        latency_s=st.floats(0, 2, allow_nan=False),
        slow_start=st.floats(0.1, 1),
    ),
    max_size=6,
    unique_by=lambda v: v.name,
)


def test_it_is_the_default_policy():
    assert isinstance(make_policy(), PowerOfTwoChoices)


@given(backends=view_lists, seed=st.integers(0, 2**32))
def test_it_never_picks_an_ineligible_backend(backends, seed):
    decision = PowerOfTwoChoices(random.Random(seed)).pick(backends)

    eligible = {b.name for b in backends if b.eligible and b.weight > 0}
    if eligible:
        assert isinstance(decision, Pick)
        assert decision.backend in eligible
    else:
        assert not isinstance(decision, Pick)


@pytest.mark.parametrize("seed", range(5))
def test_of_two_backends_the_cheaper_wins_and_says_why(seed):
    backends = [
        BackendView("slow", latency_s=0.040, outstanding=1),
        BackendView("fast", latency_s=0.010, outstanding=3),
    ]

    decision = PowerOfTwoChoices(random.Random(seed)).pick(backends)

    assert decision == Pick("fast", "fast (10 ms * 4) beats slow (40 ms * 2)")


def test_the_slowest_of_three_idle_backends_is_never_picked():
    backends = [
        BackendView("web-1", latency_s=0.005),
        BackendView("web-2", latency_s=0.005),
        BackendView("slowed", latency_s=0.050),
    ]

    picks = tally(PowerOfTwoChoices(random.Random(1)), backends, 3000)

    assert picks["slowed"] == 0
    assert min(picks["web-1"], picks["web-2"]) > 1200


def test_busy_backends_lose_to_a_slower_idle_one():
    backends = [
        BackendView("web-1", latency_s=0.005, outstanding=20),
        BackendView("web-2", latency_s=0.005, outstanding=20),
        BackendView("slowed", latency_s=0.050, outstanding=0),
    ]

    picks = tally(PowerOfTwoChoices(random.Random(2)), backends, 300)

    assert picks["slowed"] > 150


def test_a_warming_backend_costs_more_by_its_slow_start_factor():
    backends = [
        BackendView("warm", latency_s=0.010),
        BackendView("new", latency_s=0.005, slow_start=0.25),
    ]

    decision = PowerOfTwoChoices(random.Random(0)).pick(backends)

    assert decision == Pick("warm", "warm (10 ms * 1) beats new (5 ms * 1 / 0.25)")


def test_a_lone_candidate_is_picked_without_a_draw():
    backends = [BackendView("web-1"), BackendView("web-2", eligible=False)]

    assert chosen(PowerOfTwoChoices(random.Random(0)), backends) == "web-1"

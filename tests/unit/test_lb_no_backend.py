"""With nothing eligible every policy answers NoBackend, saying why; it never raises."""

import random

import pytest

from millionscale.lb import POLICIES, BackendView, NoBackend, make_policy


@pytest.mark.parametrize("policy", POLICIES)
def test_an_empty_pool_has_no_backend(policy):
    decision = make_policy(policy, rng=random.Random(0)).pick([], key="k")

    assert decision == NoBackend("no backend configured")


@pytest.mark.parametrize("policy", POLICIES)
def test_a_pool_of_down_or_drained_backends_has_no_backend(policy):
    views = [BackendView("web-1", eligible=False), BackendView("web-2", weight=0)]

    decision = make_policy(policy, rng=random.Random(0)).pick(views, key="k")

    assert decision == NoBackend(
        "none of 2 backends is eligible (down, ejected, draining or weight 0)"
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_no_backend_answers_are_counted(policy):
    chooser = make_policy(policy, rng=random.Random(0))

    chooser.pick([])
    chooser.pick([BackendView("web-1")])

    assert chooser.statistics().no_backend == 1
    assert chooser.statistics().picks == {"web-1": 1}

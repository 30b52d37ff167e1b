"""Every policy: a retry never goes back to a backend it tried while another is eligible."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.lb import POLICIES, BackendView, NoBackend, Pick, make_policy

NAMES = [f"web-{i}" for i in range(5)]


@pytest.mark.parametrize("policy", POLICIES)
@given(
    eligible=st.lists(st.booleans(), min_size=5, max_size=5),
    tried=st.sets(st.sampled_from(NAMES)),
    key=st.none() | st.text(max_size=8),
)
def test_a_tried_backend_is_picked_only_when_no_other_is_eligible(policy, eligible, tried, key):
    views = [BackendView(n, eligible=e) for n, e in zip(NAMES, eligible, strict=True)]
    eligible_names = {v.name for v in views if v.eligible}

    decision = make_policy(policy, rng=random.Random(0)).pick(views, key=key, exclude=tried)

    if not eligible_names:
        assert isinstance(decision, NoBackend)
    elif eligible_names - tried:
        assert isinstance(decision, Pick)
        assert decision.backend in eligible_names - tried
    else:
        assert isinstance(decision, Pick)
        assert decision.backend in eligible_names
        assert decision.reason.startswith("every eligible backend was tried; ")


@pytest.mark.parametrize("policy", POLICIES)
def test_a_repeat_is_counted(policy):
    chooser = make_policy(policy, rng=random.Random(0))
    views = [BackendView("web-1")]

    chooser.pick(views, key="k", exclude={"web-1"})

    assert chooser.statistics().repeats == 1

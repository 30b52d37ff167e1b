"""Round-robin: each eligible backend in turn, weights and load ignored."""

from hypothesis import given
from hypothesis import strategies as st
from lb_factories import tally

from millionscale.lb import BackendView, Pick, RoundRobin


def names(n: int) -> list[str]:
    return [f"web-{i}" for i in range(n)]


@given(n=st.integers(1, 8), rounds=st.integers(1, 20))
def test_over_whole_rounds_each_backend_is_picked_equally(n, rounds):
    policy = RoundRobin()
    views = [BackendView(name, weight=i + 1, outstanding=i) for i, name in enumerate(names(n))]

    picks = tally(policy, views, n * rounds)

    assert picks == dict.fromkeys(names(n), rounds)


def test_backends_come_in_their_order():
    policy = RoundRobin()
    views = [BackendView(name) for name in names(3)]

    sequence = [policy.pick(views) for _ in range(4)]

    assert sequence == [
        Pick("web-0", "web-0 is next in turn of 3"),
        Pick("web-1", "web-1 is next in turn of 3"),
        Pick("web-2", "web-2 is next in turn of 3"),
        Pick("web-0", "web-0 is next in turn of 3"),
    ]


def test_an_ineligible_backend_is_skipped():
    policy = RoundRobin()
    views = [BackendView("web-0"), BackendView("web-1", eligible=False), BackendView("web-2")]

    picked = set(tally(policy, views, 10))

    assert picked == {"web-0", "web-2"}

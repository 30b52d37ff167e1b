"""Consistent hashing on a ring: stable keys, and only ~1/n of them move on a change."""

from hypothesis import given, settings
from hypothesis import strategies as st
from lb_factories import backends, chosen

from millionscale.lb import BackendView, ConsistentHash, Pick

KEYS = [f"session-{i}" for i in range(2000)]
name_sets = st.sets(
    st.text("abcdefghij-0123456789", min_size=1, max_size=12), min_size=2, max_size=10
)


def owners(names, keys=KEYS):
    policy, views = ConsistentHash(), backends(*names)
    return {key: chosen(policy, views, key=key) for key in keys}


@settings(max_examples=25, deadline=None)
@given(names=name_sets)
def test_removing_a_backend_moves_only_its_keys_about_one_in_n(names):
    names = sorted(names)
    gone, n = names[0], len(names)
    before = owners(names)

    after = owners(names[1:])

    moved = {k for k in KEYS if before[k] != after[k]}
    assert moved == {k for k in KEYS if before[k] == gone}
    assert len(KEYS) / (3 * n) <= len(moved) <= 2 * len(KEYS) / n


@settings(max_examples=25, deadline=None)
@given(names=name_sets)
def test_adding_a_backend_moves_only_the_keys_it_takes_about_one_in_n(names):
    names = sorted(names)
    new, n = names[0], len(names)
    before = owners(names[1:])

    after = owners(names)

    moved = {k for k in KEYS if before[k] != after[k]}
    assert moved == {k for k in KEYS if after[k] == new}
    assert len(KEYS) / (3 * n) <= len(moved) <= 2 * len(KEYS) / n


def test_the_same_key_goes_to_the_same_backend_across_instances():
    views = backends("web-1", "web-2", "web-3")

    answers = {chosen(ConsistentHash(), views, key="alice") for _ in range(3)}

    assert len(answers) == 1


def test_a_backend_going_down_moves_only_its_keys_and_says_where():
    names = ["web-1", "web-2", "web-3"]
    before = owners(names)
    policy = ConsistentHash()
    views = [BackendView(n, eligible=n != "web-2") for n in names]
    key = next(k for k in KEYS if before[k] == "web-2")

    after = {k: chosen(policy, views, key=k) for k in KEYS}
    decision = policy.pick(views, key=key)

    assert {k for k in KEYS if after[k] != before[k]} == {k for k in KEYS if before[k] == "web-2"}
    assert isinstance(decision, Pick)
    assert (
        decision.reason
        == f"the key hashes to web-2, not eligible; {decision.backend} is next on the ring"
    )


def test_weights_are_numbers_of_points_on_the_ring():
    views = [BackendView("big", weight=3), BackendView("small", weight=1)]
    policy = ConsistentHash()

    big = sum(chosen(policy, views, key=k) == "big" for k in KEYS)

    assert 0.65 < big / len(KEYS) < 0.85


def test_without_a_key_requests_go_round_robin():
    policy = ConsistentHash()
    views = backends("web-1", "web-2")

    decisions = [policy.pick(views), policy.pick(views)]

    assert decisions == [
        Pick("web-1", "no hash key; web-1 is next in turn of 2"),
        Pick("web-2", "no hash key; web-2 is next in turn of 2"),
    ]

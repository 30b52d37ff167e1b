"""Belady's MIN: the optimal hit count, checked by brute force and against every policy."""

import functools

import pytest
from cache_factories import cache, read_through
from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.cache import POLICIES, belady_hits


def brute_force_hits(trace: tuple[int, ...], capacity: int) -> int:
    """The most hits over every choice of what to evict (or not to cache) on each miss."""

    @functools.cache
    def best(position: int, cached: frozenset[int]) -> int:
        if position == len(trace):
            return 0
        key = trace[position]
        if key in cached:
            return 1 + best(position + 1, cached)
        choices = [best(position + 1, cached)]  # decline to cache it
        if len(cached) < capacity:
            choices.append(best(position + 1, cached | {key}))
        else:
            choices += [best(position + 1, (cached - {out}) | {key}) for out in cached]
        return max(choices)

    return best(0, frozenset())


def test_a_textbook_trace():
    trace = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]

    assert belady_hits(trace, 3) == 5  # 7 faults, the classic answer for three frames


def test_a_loop_one_larger_than_the_cache():
    trace = list(range(4)) * 5
    lru, _ = cache(max_entries=3, policy="lru")

    # LRU misses every request of this loop; MIN misses the first three, then
    # one request in three (the brute force search agrees).
    assert read_through(lru, trace) == 0
    assert belady_hits(trace, 3) == 12 == brute_force_hits(tuple(trace), 3)


@settings(max_examples=150, deadline=None)
@given(
    trace=st.lists(st.integers(0, 4), max_size=12).map(tuple),
    capacity=st.integers(1, 3),
)
def test_it_matches_a_brute_force_search(trace, capacity):
    assert belady_hits(trace, capacity) == brute_force_hits(trace, capacity)


@settings(max_examples=80, deadline=None)
@given(
    trace=st.lists(st.integers(0, 30), max_size=300),
    capacity=st.integers(1, 20),
    policy=st.sampled_from(POLICIES),
)
def test_no_policy_beats_it(trace, capacity, policy):
    l1, _ = cache(max_entries=capacity, policy=policy)

    assert read_through(l1, trace) <= belady_hits(trace, capacity)


def test_a_capacity_below_one_is_refused():
    with pytest.raises(ValueError, match="capacity"):
        belady_hits([1, 2], 0)

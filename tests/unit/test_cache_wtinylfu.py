"""W-TinyLFU: a window, a segmented main space, and admission by estimated frequency."""

from collections.abc import Hashable

import pytest

from millionscale.cache import RANDOM_ADMISSION, Lru, WTinyLfu

HUGE = 1 << 60


def never() -> float:
    return 0.999  # a random source that never grants the warm candidate's lottery


def always() -> float:
    return 0.0


def seen(policy: WTinyLfu, key, times: int) -> None:
    """Make the sketch count ``key`` ``times`` more (as reads of a key not held would)."""
    for _ in range(times):
        policy.sketch.increment(key)


def test_segments_take_one_percent_and_eighty_percent_of_main():
    policy: WTinyLfu[Hashable] = WTinyLfu(1_000, HUGE)

    assert policy._window_max_entries == 10
    assert policy._protected_max_entries == 792


def test_a_new_key_enters_the_window_and_the_windows_oldest_moves_to_probation():
    policy: WTinyLfu[Hashable] = WTinyLfu(200, HUGE)  # window of 2
    for key in "abc":
        policy.add(key, 1)

    window, probation, protected = policy.segments()

    assert (window, probation, protected) == (["b", "c"], ["a"], [])


def test_a_hit_on_probation_promotes_to_protected():
    policy: WTinyLfu[Hashable] = WTinyLfu(200, HUGE)
    for key in "abc":
        policy.add(key, 1)

    policy.touch("a")

    assert policy.segments()[2] == ["a"]


def test_protected_overflow_is_demoted_to_probation_most_recent_end():
    policy: WTinyLfu[Hashable] = WTinyLfu(10, HUGE)  # window 1, protected 7
    for key in range(9):
        policy.add(key, 1)
    for key in range(8):  # 0..7 sit on probation; promote them all
        policy.touch(key)

    _, probation, protected = policy.segments()

    assert protected == [1, 2, 3, 4, 5, 6, 7]
    assert probation == [0]


def test_a_candidate_more_popular_than_the_victim_is_admitted():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, HUGE, random=never)  # window 1, main 99
    for key in range(100):
        policy.add(key, 1)  # 0..98 on probation, 99 in the window
    seen(policy, 99, 5)

    evicted = policy.add("new", 1)  # 99 leaves the window and contests 0

    assert list(evicted) == [0]
    assert 99 in policy


def test_a_candidate_no_more_popular_than_the_victim_is_evicted():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, HUGE, random=never)
    for key in range(100):
        policy.add(key, 1)
    seen(policy, 0, 3)
    seen(policy, 99, 2)

    evicted = policy.add("new", 1)

    assert list(evicted) == [99]
    assert 0 in policy


def test_ties_go_to_the_victim():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, HUGE, random=never)
    for key in range(100):
        policy.add(key, 1)  # every key seen once

    evicted = policy.add("new", 1)

    assert list(evicted) == [99]


def test_a_warm_candidate_that_loses_is_sometimes_admitted_at_random():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, HUGE, random=always)
    for key in range(100):
        policy.add(key, 1)
    seen(policy, 0, 14)  # the victim is hot
    seen(policy, 99, 6)  # the candidate is warm, and loses on frequency

    evicted = policy.add("new", 1)

    assert RANDOM_ADMISSION == 1 / 128
    assert list(evicted) == [0]


def test_a_cold_candidate_is_never_admitted_at_random():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, HUGE, random=always)
    for key in range(100):
        policy.add(key, 1)
    seen(policy, 0, 14)
    seen(policy, 99, 3)

    evicted = policy.add("new", 1)

    assert list(evicted) == [99]


def test_popular_keys_survive_a_scan_that_flushes_an_lru():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, HUGE, random=never)
    hot = [("hot", i) for i in range(50)]
    for key in hot:
        policy.add(key, 1)
    policy.add("filler", 1)  # pushes the last hot key out of the window
    for _ in range(10):
        for key in hot:
            policy.touch(key)  # promoted to protected
    lru: Lru[Hashable] = Lru(100, HUGE)
    for key in hot:
        lru.add(key, 1)

    for i in range(300):  # a scan: each key read once, three times the cache's size
        policy.add(("scan", i), 1)
        lru.add(("scan", i), 1)

    assert sum(key in policy for key in hot) == 50
    assert sum(key in lru for key in hot) == 0


def test_a_key_larger_than_the_window_contests_at_once_and_may_lose():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, 1_000, random=never)  # window of 10 bytes
    for key in range(10):
        policy.add(key, 99)
        policy.touch(key)

    evicted = policy.add("big", 50)

    assert list(evicted) == ["big"]
    assert policy.bytes == 990


def test_resizing_counts_as_an_access_and_keeps_the_bounds():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, 1_000, random=never)
    for key in range(10):
        policy.add(key, 50)

    evicted = policy.resize(3, 600)

    assert policy.bytes <= 1_000
    assert 3 in policy
    assert 3 not in evicted
    assert policy.sketch.frequency(3) == 2


@pytest.mark.parametrize("max_entries", [1, 2, 3])
def test_tiny_caches_keep_their_bound(max_entries):
    policy: WTinyLfu[Hashable] = WTinyLfu(max_entries, HUGE)

    for key in range(50):
        policy.add(key, 1)
        if key % 3 == 0:
            policy.touch(key) if key in policy else None

    assert len(policy) == max_entries


def test_remove_and_clear_give_back_bytes():
    policy: WTinyLfu[Hashable] = WTinyLfu(100, HUGE)
    for key in range(5):
        policy.add(key, 10)
    policy.touch(0)

    policy.remove(0)
    policy.remove(4)
    after_remove = (len(policy), policy.bytes)
    policy.clear()

    assert after_remove == (3, 30)
    assert (len(policy), policy.bytes) == (0, 0)

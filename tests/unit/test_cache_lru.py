"""LRU: the key read or written longest ago leaves first."""

from collections.abc import Hashable

from millionscale.cache import Lru

HUGE = 1 << 60


def test_the_least_recently_used_key_is_evicted():
    lru: Lru[Hashable] = Lru(3, HUGE)
    for key in "abc":
        lru.add(key, 1)
    lru.touch("a")

    evicted = lru.add("d", 1)

    assert list(evicted) == ["b"]


def test_a_write_to_a_held_key_makes_it_most_recent():
    lru: Lru[Hashable] = Lru(2, HUGE)
    lru.add("a", 1)
    lru.add("b", 1)
    lru.resize("a", 1)

    evicted = lru.add("c", 1)

    assert list(evicted) == ["b"]


def test_a_large_key_evicts_as_many_old_keys_as_it_needs():
    lru: Lru[Hashable] = Lru(100, 100)
    for key in range(10):
        lru.add(key, 10)

    evicted = lru.add("big", 35)

    assert list(evicted) == [0, 1, 2, 3]
    assert lru.bytes == 95


def test_growing_a_key_evicts_others_never_itself():
    lru: Lru[Hashable] = Lru(100, 100)
    for key in range(5):
        lru.add(key, 20)

    evicted = lru.resize(0, 100)

    assert list(evicted) == [1, 2, 3, 4]
    assert 0 in lru


def test_remove_and_clear_give_back_bytes():
    lru: Lru[Hashable] = Lru(10, HUGE)
    lru.add("a", 5)
    lru.add("b", 7)

    lru.remove("a")
    after_remove = (len(lru), lru.bytes)
    lru.clear()

    assert after_remove == (1, 7)
    assert (len(lru), lru.bytes) == (0, 0)

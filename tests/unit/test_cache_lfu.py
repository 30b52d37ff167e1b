"""LFU with aging: the least frequently read key leaves; ties go to the least recently promoted."""

from collections.abc import Hashable

import millionscale.cache.lfu as lfu_module
from millionscale.cache import Lfu

HUGE = 1 << 60


def test_the_least_frequently_used_key_is_evicted():
    lfu: Lfu[Hashable] = Lfu(3, HUGE)
    for key in "abc":
        lfu.add(key, 1)
    lfu.touch("a")
    lfu.touch("a")
    lfu.touch("c")

    evicted = lfu.add("d", 1)

    assert list(evicted) == ["b"]


def test_among_equally_rare_keys_the_one_that_reached_its_count_first_goes():
    lfu: Lfu[Hashable] = Lfu(3, HUGE)
    for key in "abc":
        lfu.add(key, 1)
    lfu.touch("b")
    lfu.touch("a")  # a reached 2 after b
    lfu.touch("c")

    first = lfu.add("d", 1)  # a, b and c tie at 2: b reached it first
    second = lfu.add("e", 1)  # d is alone at 1: a newcomer is the rarest (LFU's weakness)

    assert list(first) == ["b"]
    assert list(second) == ["d"]


def test_a_write_to_a_held_key_counts_as_an_access():
    lfu: Lfu[Hashable] = Lfu(2, HUGE)
    lfu.add("a", 1)
    lfu.add("b", 1)
    lfu.resize("a", 1)

    assert lfu.count("a") == 2
    assert list(lfu.add("c", 1)) == ["b"]


def test_aging_halves_every_count_and_keeps_at_least_one(monkeypatch):
    monkeypatch.setattr(lfu_module, "MIN_AGING_PERIOD", 10)
    lfu: Lfu[Hashable] = Lfu(10, HUGE)
    lfu.add("hot", 1)  # access 1
    lfu.add("cold", 1)  # access 2
    for _ in range(7):  # accesses 3..9: hot reaches 8
        lfu.touch("hot")
    before = (lfu.count("hot"), lfu.count("cold"))

    lfu.touch("hot")  # access 10: hot reaches 9, then every count is halved

    assert before == (8, 1)
    assert (lfu.count("hot"), lfu.count("cold")) == (4, 1)


def test_aging_lets_a_once_hot_key_be_displaced_by_a_newly_hot_one(monkeypatch):
    monkeypatch.setattr(lfu_module, "MIN_AGING_PERIOD", 20)
    lfu: Lfu[Hashable] = Lfu(2, HUGE)
    lfu.add("yesterday", 1)  # access 1
    for _ in range(15):  # accesses 2..16: yesterday reaches 16
        lfu.touch("yesterday")
    lfu.add("today", 1)  # access 17
    for _ in range(10):  # 18..27; at 20 both halve: yesterday 8, today 2, then 9
        lfu.touch("today")

    evicted = lfu.add("newcomer", 1)

    assert (lfu.count("today"), lfu.count("newcomer")) == (9, 1)
    assert list(evicted) == ["yesterday"]  # without aging: 16 against 11, today would go


def test_merged_counts_keep_their_eviction_order(monkeypatch):
    monkeypatch.setattr(lfu_module, "MIN_AGING_PERIOD", 6)
    lfu: Lfu[Hashable] = Lfu(4, HUGE)
    lfu.add("three", 1)  # access 1
    lfu.add("two", 1)  # 2
    lfu.touch("three")  # 3
    lfu.touch("two")  # 4
    lfu.touch("three")  # 5: three has 3, two has 2
    lfu.add("one", 1)  # 6: halved, all three at 1, in their old order: one, two, three
    lfu.add("n0", 1)

    evicted = [list(lfu.add(f"n{i}", 1)) for i in (1, 2, 3)]

    assert evicted == [["one"], ["two"], ["three"]]


def test_a_byte_bound_evicts_the_rarest_keys_until_the_new_one_fits():
    lfu: Lfu[Hashable] = Lfu(100, 100)
    for key in range(5):
        lfu.add(key, 20)
        for _ in range(key):
            lfu.touch(key)

    evicted = lfu.add("big", 50)

    assert list(evicted) == [0, 1, 2]
    assert lfu.bytes == 90

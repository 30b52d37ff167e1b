"""What an entry is charged against the byte bound, and what happens when it cannot fit."""

import sys
from collections.abc import Hashable

import pytest
from cache_factories import EvictionLog, cache

from millionscale.cache import ENTRY_OVERHEAD, MISS, EvictionReason, L1Cache, estimate_size


@pytest.mark.parametrize(
    ("value", "payload"),
    [
        (b"12345", 5),
        (bytearray(7), 7),
        ("héllo", 5),
        (memoryview(b"abc"), 3),
        (None, 0),
        (True, 0),
    ],
)
def test_the_estimate_is_the_overhead_plus_the_payload_lengths(value, payload):
    assert estimate_size("key", value) == ENTRY_OVERHEAD + 3 + payload


def test_other_values_are_charged_their_shallow_size():
    value = {"a": "x" * 1000}

    assert estimate_size("k", value) == ENTRY_OVERHEAD + 1 + sys.getsizeof(value)


def test_small_numbers_cost_only_the_overhead_and_big_ints_their_digits():
    big = 1 << 100

    assert estimate_size(42, 2.5) == ENTRY_OVERHEAD
    assert estimate_size(-(1 << 29), True) == ENTRY_OVERHEAD
    assert estimate_size(big, 0) == ENTRY_OVERHEAD + sys.getsizeof(big)


def test_the_default_size_function_is_used_without_a_size():
    l1: L1Cache[Hashable, object] = L1Cache(max_entries=10, max_bytes=10_000)

    l1.set("k", b"x" * 100)

    assert l1.statistics().bytes == ENTRY_OVERHEAD + 1 + 100


def test_an_injected_size_function_and_an_explicit_size_are_honoured():
    l1: L1Cache[Hashable, object] = L1Cache(
        max_entries=10, max_bytes=10_000, sizeof=lambda key, value: 7
    )

    l1.set("a", "anything")
    l1.set("b", "anything", size=42)

    assert l1.statistics().bytes == 49


def test_a_size_below_one_byte_is_refused():
    l1, _ = cache()

    with pytest.raises(ValueError, match="size"):
        l1.set("k", "v", size=0)


def test_an_entry_larger_than_the_bound_is_refused_and_the_cache_kept():
    l1, _ = cache(max_bytes=100)
    l1.set("small", 1, size=60)

    stored = l1.set("huge", 2, size=101)

    assert stored is False
    assert l1.get("huge") is MISS
    assert l1.get("small") == 1
    assert l1.statistics().rejected == 1


def test_a_refused_overwrite_drops_the_value_it_would_replace():
    log = EvictionLog()
    l1, _ = cache(max_bytes=100, on_evict=log)
    l1.set("k", "old", size=10)

    l1.set("k", "new and huge", size=500)

    assert l1.get("k") is MISS
    assert log.events == [("k", "old", EvictionReason.EXPLICIT)]


@pytest.mark.parametrize("policy", ["lru", "lfu", "w-tinylfu"])
def test_an_entry_of_exactly_the_byte_bound_fits(policy):
    l1, _ = cache(max_bytes=100, policy=policy)

    stored = l1.set("k", "v", size=100)

    assert stored is True
    assert l1.get("k") == "v"


@pytest.mark.parametrize("policy", ["lru", "lfu", "w-tinylfu"])
def test_the_byte_bound_binds_before_the_entry_bound(policy):
    l1, _ = cache(max_entries=1_000, max_bytes=1_000, policy=policy)

    for key in range(100):
        l1.set(key, key, size=100)

    assert l1.statistics().entries == 10
    assert l1.statistics().bytes == 1_000


@pytest.mark.parametrize(("max_entries", "max_bytes"), [(0, 10), (10, 0), (-1, -1)])
def test_bounds_must_allow_one_entry(max_entries, max_bytes):
    with pytest.raises(ValueError, match="at least 1"):
        L1Cache(max_entries=max_entries, max_bytes=max_bytes)

"""The statistics snapshot counts every lookup once and every departure once, by reason."""

import pytest
from cache_factories import EvictionLog, cache

from millionscale.cache import ABSENT, MISS, CacheStatistics, EvictionReason


def test_a_scripted_session_gives_exact_counters():
    l1, clock = cache(max_entries=2, ttl_s=10.0, policy="lru", name="profiles")
    l1.set("a", 1)
    l1.set("b", ABSENT)
    l1.get("b")  # hit on an absence
    l1.get("a")  # hit
    l1.get("c")  # miss
    l1.set("c", 3)  # evicts "b", the least recent
    l1.delete("a")  # explicit
    clock.jump(10.0)
    l1.get("c")  # expired: a miss

    stats = l1.statistics()

    assert stats == CacheStatistics(
        name="profiles",
        policy="lru",
        hits=2,
        misses=2,
        absent_hits=1,
        sets=3,
        rejected=0,
        evicted_size=1,
        evicted_expired=1,
        evicted_explicit=1,
        entries=0,
        bytes=0,
        max_entries=2,
        max_bytes=1 << 60,
    )
    assert (stats.gets, stats.hit_ratio, stats.evictions) == (4, 0.5, 3)


def test_evicted_by_reason_matches_the_fields():
    l1, _ = cache(max_entries=1)
    l1.set("a", 1)
    l1.set("b", 2)
    l1.delete("b")

    stats = l1.statistics()

    assert stats.evicted(EvictionReason.SIZE) == stats.evicted_size == 1
    assert stats.evicted(EvictionReason.EXPLICIT) == stats.evicted_explicit == 1
    assert stats.evicted(EvictionReason.EXPIRED) == 0


def test_the_hit_ratio_of_an_unused_cache_is_zero():
    l1, _ = cache()

    assert l1.statistics().hit_ratio == 0.0


def test_bytes_and_entries_follow_sets_overwrites_and_deletes():
    l1, _ = cache(max_bytes=1_000)
    l1.set("a", "x", size=100)
    l1.set("b", "y", size=200)
    l1.set("a", "z", size=50)  # an overwrite, not an eviction
    l1.delete("b")

    stats = l1.statistics()

    assert (stats.entries, stats.bytes) == (1, 50)
    assert stats.evictions == 1


def test_clear_counts_every_entry_as_explicit_and_tells_the_listener():
    log = EvictionLog()
    l1, _ = cache(on_evict=log)
    l1.set("a", 1)
    l1.set("b", 2)

    l1.clear()

    assert l1.statistics().evicted_explicit == 2
    assert (l1.statistics().entries, l1.statistics().bytes) == (0, 0)
    assert sorted(log.keys(EvictionReason.EXPLICIT)) == ["a", "b"]
    assert l1.get("a") is MISS


def test_the_snapshot_is_frozen():
    l1, _ = cache()
    stats = l1.statistics()

    with pytest.raises(AttributeError):
        stats.hits = 5


def test_a_snapshot_does_not_move_with_the_cache():
    l1, _ = cache()
    before = l1.statistics()

    l1.get("x")

    assert before.misses == 0
    assert l1.statistics().misses == 1

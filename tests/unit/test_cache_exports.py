"""The public names of millionscale.cache are a deliberate list; each one resolves."""

import millionscale.cache as cache


def test_every_exported_name_exists():
    missing = [name for name in cache.__all__ if not hasattr(cache, name)]

    assert missing == []


def test_the_cache_its_policies_and_records_are_exported():
    core = {"L1Cache", "Lru", "Lfu", "WTinyLfu", "FrequencySketch", "make_policy", "belady_hits"}
    records = {"CacheStatistics", "EvictionReason", "Expiry", "ABSENT", "MISS"}

    assert core | records <= set(cache.__all__)

"""The public names of millionscale.cache are a deliberate list; each one resolves."""

import millionscale.cache as cache


def test_every_exported_name_exists():
    missing = [name for name in cache.__all__ if not hasattr(cache, name)]

    assert missing == []


def test_the_exported_names_are_exactly_these():
    core = {"L1Cache", "Lru", "Lfu", "WTinyLfu", "FrequencySketch", "make_policy", "belady_hits"}
    tiered = {"TieredCache", "CacheSettings", "L1Admission", "CachedFunction", "TieredStatistics"}
    records = {"CacheStatistics", "EvictionReason", "Expiry", "ABSENT", "MISS", "Absent", "Miss"}
    knobs = {
        "AGING_FACTOR", "DEFAULT_POLICY", "ENTRY_OVERHEAD", "POLICIES", "PROTECTED_SHARE",
        "RANDOM_ADMISSION", "SWEEP_BATCH", "WARM_CANDIDATE", "WINDOW_SHARE",
    }  # fmt: skip
    helpers = {"EvictionPolicy", "estimate_size"}

    assert set(cache.__all__) == core | tiered | records | knobs | helpers
    assert len(cache.__all__) == len(set(cache.__all__))

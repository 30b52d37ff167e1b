"""Per-entry expiry: a value is never served at or after its deadline, and is reclaimed."""

import math

import pytest
from cache_factories import EvictionLog, cache
from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.cache import MISS, SWEEP_BATCH, EvictionReason, Expiry


def test_a_value_is_served_until_its_deadline_and_not_at_it():
    l1, clock = cache(ttl_s=10.0)
    l1.set("k", "v")

    clock.jump(9.999)
    before = l1.get("k")
    clock.jump(0.001)
    at = l1.get("k")

    assert before == "v"
    assert at is MISS


def test_the_read_that_finds_an_expired_entry_reclaims_it():
    log = EvictionLog()
    l1, clock = cache(ttl_s=5.0, on_evict=log)
    l1.set("k", "v")
    clock.jump(5.0)

    l1.get("k")

    assert len(l1) == 0
    assert log.events == [("k", "v", EvictionReason.EXPIRED)]
    assert l1.statistics().evicted_expired == 1


def test_a_ttl_per_set_overrides_the_default_and_inf_never_expires():
    l1, clock = cache(ttl_s=10.0)
    l1.set("short", 1, ttl_s=1.0)
    l1.set("forever", 2, ttl_s=math.inf)
    l1.set("default", 3)

    clock.jump(5.0)
    after_5 = (l1.get("short"), l1.get("forever"), l1.get("default"))
    clock.jump(1_000_000.0)
    later = (l1.get("forever"), l1.get("default"))

    assert after_5 == (MISS, 2, 3)
    assert later == (2, MISS)


def test_no_ttl_means_no_expiry_and_no_clock_reading():
    readings = []

    def clock():
        readings.append(1)
        return 0.0

    l1, _ = cache(clock=clock)
    l1.set("k", "v")
    l1.get("k")

    assert readings == []


def test_setting_again_moves_the_deadline():
    l1, clock = cache(ttl_s=10.0)
    l1.set("k", "old")
    clock.jump(8.0)
    l1.set("k", "new")

    clock.jump(8.0)

    assert l1.get("k") == "new"


def test_sets_sweep_expired_entries_nobody_reads():
    log = EvictionLog()
    l1, clock = cache(ttl_s=1.0, on_evict=log)
    for key in range(10):
        l1.set(key, key)
    clock.jump(2.0)

    l1.set("fresh", 0)

    assert len(log.keys(EvictionReason.EXPIRED)) == SWEEP_BATCH
    assert log.keys() == list(range(SWEEP_BATCH))  # earliest deadline first
    assert len(l1) == 10 - SWEEP_BATCH + 1


def test_enough_sets_reclaim_every_expired_entry():
    l1, clock = cache(ttl_s=1.0)
    for key in range(100):
        l1.set(key, key)
    clock.jump(2.0)

    for key in range(100, 130):
        l1.set(key, key, ttl_s=math.inf)

    assert len(l1) == 30
    assert l1.statistics().evicted_expired == 100


def test_expire_reclaims_all_expired_entries_at_once():
    l1, clock = cache(ttl_s=1.0)
    for key in range(50):
        l1.set(key, key, ttl_s=1.0 if key % 2 else 3.0)
    clock.jump(2.0)

    reclaimed = l1.expire()

    assert reclaimed == 25
    assert sorted(k for k in range(50) if k in l1) == list(range(0, 50, 2))


def test_the_deadline_heap_stays_bounded_under_overwrites():
    l1, clock = cache(ttl_s=100.0)
    for round_ in range(5_000):
        l1.set(round_ % 10, round_)

    clock.jump(100.0)

    assert len(l1._deadlines) < 2 * len(l1) + 1024 + 1
    assert l1.expire() == 10


def test_contains_honours_expiry_without_counting():
    l1, clock = cache(ttl_s=1.0)
    l1.set("k", "v")

    inside = "k" in l1
    clock.jump(1.0)
    outside = "k" in l1

    assert (inside, outside) == (True, False)
    assert l1.statistics().gets == 0


def test_deleting_an_expired_entry_counts_it_as_expired():
    l1, clock = cache(ttl_s=1.0)
    l1.set("k", "v")
    clock.jump(1.0)

    deleted = l1.delete("k")

    assert deleted is False
    assert l1.statistics().evicted_expired == 1
    assert l1.statistics().evicted_explicit == 0


def test_jitter_only_shortens_a_lifetime_by_up_to_its_fraction():
    expiry = Expiry(ttl_s=100.0, jitter=0.2)

    earliest = expiry.deadline(0.0, lambda: 0.999999)
    middle = expiry.deadline(0.0, lambda: 0.5)
    latest = expiry.deadline(0.0, lambda: 0.0)

    assert earliest == pytest.approx(80.0, abs=1e-3)
    assert middle == pytest.approx(90.0)
    assert latest == 100.0


def test_jitter_spreads_the_deadlines_of_values_set_together():
    l1, clock = cache(max_entries=1_000, ttl_s=100.0, jitter=0.1)
    for key in range(1_000):
        l1.set(key, key)

    clock.jump(95.0)
    alive = sum(key in l1 for key in range(1_000))

    assert 400 < alive < 600  # about half live past 95 s: uniform over (90, 100]


@pytest.mark.parametrize(
    "knobs",
    [{"ttl_s": 0.0}, {"ttl_s": -1.0}, {"jitter": 1.0}, {"jitter": -0.1}, {"absent_ttl_s": 0.0}],
)
def test_a_bad_expiry_knob_is_refused(knobs):
    with pytest.raises(ValueError, match=r"ttl_s|jitter"):
        cache(**knobs)


def test_a_bad_ttl_per_set_is_refused():
    l1, _ = cache()

    with pytest.raises(ValueError, match="ttl_s"):
        l1.set("k", "v", ttl_s=0.0)


@settings(max_examples=100, deadline=None)
@given(
    ttl_s=st.floats(0.1, 50.0),
    jitter=st.floats(0.0, 0.9),
    waits=st.lists(st.floats(0.0, 20.0), max_size=20),
)
def test_no_value_is_served_past_its_ttl(ttl_s, jitter, waits):
    l1, clock = cache(ttl_s=ttl_s, jitter=jitter)
    set_at = clock.now()
    l1.set("k", "v")

    for wait in waits:
        clock.jump(wait)
        served = l1.get("k") == "v"
        if clock.now() >= set_at + ttl_s:
            assert not served
        if clock.now() < set_at + ttl_s * (1 - jitter) - 1e-9:  # the float rounding of a sum
            assert served

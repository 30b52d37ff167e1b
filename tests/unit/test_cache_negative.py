"""Negative caching: the cache can hold "it does not exist", apart from a miss."""

from cache_factories import cache

from millionscale.cache import ABSENT, MISS, estimate_size


def test_a_cached_absence_is_returned_as_absent_not_as_a_miss():
    l1, _ = cache()
    l1.set("user:ghost", ABSENT)

    got = l1.get("user:ghost")

    assert got is ABSENT
    assert l1.statistics().hits == 1
    assert l1.statistics().absent_hits == 1


def test_a_key_never_set_is_a_miss():
    l1, _ = cache()

    assert l1.get("user:unknown") is MISS
    assert l1.statistics().misses == 1


def test_none_is_a_value_like_any_other():
    l1, _ = cache()
    l1.set("k", None)

    assert l1.get("k") is None
    assert l1.statistics().absent_hits == 0


def test_absences_have_their_own_ttl():
    l1, clock = cache(ttl_s=60.0, absent_ttl_s=5.0)
    l1.set("missing", ABSENT)
    l1.set("present", "v")

    clock.jump(5.0)

    assert l1.get("missing") is MISS
    assert l1.get("present") == "v"


def test_absences_default_to_the_values_ttl():
    l1, clock = cache(ttl_s=10.0)
    l1.set("missing", ABSENT)

    clock.jump(9.0)
    before = l1.get("missing")
    clock.jump(1.0)

    assert before is ABSENT
    assert l1.get("missing") is MISS


def test_absences_can_expire_when_values_do_not():
    l1, clock = cache(absent_ttl_s=1.0)
    l1.set("missing", ABSENT)
    l1.set("present", "v")

    clock.jump(1_000.0)

    assert l1.get("missing") is MISS
    assert l1.get("present") == "v"


def test_an_absence_is_charged_the_entry_overhead_and_its_key_only():
    assert estimate_size("k", ABSENT) == estimate_size("k", None)
    assert estimate_size("k", ABSENT) < estimate_size("k", "v")


def test_a_value_replaces_a_cached_absence():
    l1, _ = cache()
    l1.set("user:new", ABSENT)

    l1.set("user:new", {"name": "new"})

    assert l1.get("user:new") == {"name": "new"}

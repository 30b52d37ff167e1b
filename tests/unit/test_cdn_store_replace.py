"""After a revalidation (RFC 9111 §4.3.4) the refreshed response takes the place of the one revalidated, unless it changed meanwhile."""

import dataclasses

from cdn_store_factories import disk_store, memory_store, stored


def refreshed(old, *, at=200.0):
    """``old`` as a 304 leaves it: same body, new times and fields."""
    return dataclasses.replace(
        old,
        request_time=at - 0.5,
        response_time=at,
        fields=((b"etag", b'"v1"'),),
        invalidated=False,
    )


def test_the_refreshed_response_replaces_the_held_one():
    store = memory_store()
    old = stored(b"example.com/a")
    store.put(old)

    store.replace(old, refreshed(old))

    [held] = store.variants(b"example.com/a")
    assert held.response_time == 200.0
    assert held.fields == ((b"etag", b'"v1"'),)
    assert store.statistics().objects == 1


def test_a_response_purged_during_the_revalidation_stays_purged():
    store = memory_store()
    old = stored(b"example.com/a")
    store.put(old)
    store.purge_url(b"example.com/a", soft=False)

    store.replace(old, refreshed(old))

    assert store.variants(b"example.com/a") == []


def test_a_newer_response_stored_during_the_revalidation_is_kept():
    store = memory_store()
    old = stored(b"example.com/a")
    store.put(old)
    newer = stored(b"example.com/a", body=b"newer", response_time=150.0)
    store.put(newer)

    store.replace(old, refreshed(old))

    assert store.variants(b"example.com/a") == [newer]


def test_a_soft_purge_during_the_revalidation_marks_the_refreshed_response():
    store = memory_store()
    old = stored(b"example.com/a")
    store.put(old)
    store.purge_url(b"example.com/a", soft=True)

    store.replace(old, refreshed(old))

    [held] = store.variants(b"example.com/a")
    assert held.response_time == 200.0
    assert held.invalidated


def test_revalidating_a_soft_purged_response_makes_it_valid_again():
    store = memory_store()
    store.put(stored(b"example.com/a"))
    store.purge_url(b"example.com/a", soft=True)
    [old] = store.variants(b"example.com/a")

    store.replace(old, refreshed(old))

    [held] = store.variants(b"example.com/a")
    assert not held.invalidated


def test_a_spilled_response_is_replaced_too(tmp_path):
    store = disk_store(tmp_path, max_memory_bytes=1_000)
    old = stored(b"example.com/a", size=300)
    store.put(old)
    for number in range(3):
        store.put(stored(b"example.com/%d" % number, size=300))
    assert store.statistics().disk_objects == 1

    store.replace(old, refreshed(old))

    [held] = store.variants(b"example.com/a")
    assert held.response_time == 200.0
    assert store.audit() == []

"""Purge by URL, prefix, surrogate key or everything: soft marks entries invalidated, hard removes them."""

import pytest
from cdn_store_factories import memory_store, stored, variant

from millionscale.cdn.store import KEY_INDEX_SLACK

GZIP = variant(b"accept-encoding", b"gzip")


def photos_store():
    store = memory_store()
    store.put(stored(b"example.com/static/a.css", tags=(b"css",)))
    store.put(stored(b"example.com/static/b.js", tags=(b"js",)))
    store.put(stored(b"example.com/static/b.js", selecting=GZIP, tags=(b"js",)))
    store.put(stored(b"example.com/photos/1", tags=(b"photo-1", b"photos")))
    store.put(stored(b"example.com/photos/12", tags=(b"photo-12", b"photos")))
    store.put(stored(b"other.org/static/a.css", tags=(b"css",)))
    return store


def held(store, key):
    return store.variants(key)


def test_a_hard_purge_by_url_removes_every_variant_of_the_key():
    store = photos_store()

    purged = store.purge_url(b"example.com/static/b.js", soft=False)

    assert purged == 2
    assert held(store, b"example.com/static/b.js") == []
    assert len(held(store, b"example.com/static/a.css")) == 1
    assert store.statistics().purged_hard == 2


def test_a_soft_purge_by_url_marks_every_variant_invalidated_and_keeps_it():
    store = photos_store()

    purged = store.purge_url(b"example.com/static/b.js", soft=True)

    assert purged == 2
    variants = held(store, b"example.com/static/b.js")
    assert len(variants) == 2
    assert all(v.invalidated for v in variants)
    assert not held(store, b"example.com/static/a.css")[0].invalidated
    assert store.statistics().purged_soft == 2


def test_a_purge_of_an_unknown_url_purges_nothing():
    store = photos_store()

    assert store.purge_url(b"example.com/nothing", soft=False) == 0
    assert store.statistics().objects == 6


def test_a_prefix_purge_matches_keys_starting_with_it_only():
    store = photos_store()

    purged = store.purge_prefix(b"example.com/photos/1", soft=False)

    assert purged == 2  # /photos/1 and /photos/12
    assert held(store, b"example.com/photos/1") == []
    assert held(store, b"example.com/photos/12") == []
    assert len(held(store, b"example.com/static/a.css")) == 1


def test_a_prefix_purge_is_bounded_by_the_host():
    store = photos_store()

    purged = store.purge_prefix(b"example.com/static/", soft=True)

    assert purged == 3
    assert not held(store, b"other.org/static/a.css")[0].invalidated
    assert held(store, b"example.com/static/a.css")[0].invalidated


def test_a_tag_purge_matches_entries_carrying_the_surrogate_key():
    store = photos_store()

    purged = store.purge_tag(b"photos", soft=False)

    assert purged == 2
    assert held(store, b"example.com/photos/1") == []
    assert store.purge_tag(b"photo-12", soft=False) == 0  # gone with its other tag
    assert store.audit() == []


def test_a_tag_purge_of_an_unknown_tag_purges_nothing():
    store = photos_store()

    assert store.purge_tag(b"nope", soft=True) == 0


def test_a_new_response_without_a_tag_leaves_the_tag_index():
    store = photos_store()
    store.put(stored(b"example.com/photos/1", tags=(b"photos",)))

    assert store.purge_tag(b"photo-1", soft=False) == 0
    assert store.purge_tag(b"photos", soft=False) == 2


@pytest.mark.parametrize("soft", [True, False])
def test_purge_all_matches_every_entry(soft):
    store = photos_store()

    purged = store.purge_all(soft=soft)

    assert purged == 6
    assert store.statistics().objects == (6 if soft else 0)
    assert store.audit() == []


def test_a_soft_purged_entry_stored_again_is_valid_again():
    store = photos_store()
    store.purge_url(b"example.com/static/a.css", soft=True)

    store.put(stored(b"example.com/static/a.css", tags=(b"css",)))

    assert not held(store, b"example.com/static/a.css")[0].invalidated


def test_a_soft_purge_changes_no_bytes():
    store = photos_store()
    before = store.statistics().memory_bytes

    store.purge_all(soft=True)

    assert store.statistics().memory_bytes == before


def test_prefix_purges_stay_right_across_churn_of_keys():
    store = memory_store(max_memory_bytes=100 * 70)  # room for 100 entries of 70 bytes
    for number in range(3 * KEY_INDEX_SLACK):  # evicts and rebuilds the key list many times
        store.put(stored(b"example.com/%d" % number, size=70))
    store.put(stored(b"example.com/keep", size=70))

    purged = store.purge_prefix(b"example.com/", soft=False)

    assert purged == 100
    assert store.statistics().objects == 0
    assert store.audit() == []

"""A key holds one entry per variant (RFC 9111 §4.1); a new response replaces the variant with equal selecting fields."""

from cdn_store_factories import memory_store, stored, variant

GZIP = variant(b"accept-encoding", b"gzip")
BR = variant(b"accept-encoding", b"br")


def test_an_unknown_key_has_no_variants():
    store = memory_store()

    assert store.variants(b"example.com/none") == []


def test_a_stored_response_is_returned_as_it_was_put():
    store = memory_store()
    response = stored(b"example.com/a", body=b"hello")

    held = store.put(response)

    assert held is True
    assert store.variants(b"example.com/a") == [response]


def test_variants_with_different_selecting_fields_are_held_side_by_side():
    store = memory_store()
    gzip = stored(b"example.com/a", selecting=GZIP, body=b"gz")
    br = stored(b"example.com/a", selecting=BR, body=b"br")

    store.put(gzip)
    store.put(br)

    assert {v.body for v in store.variants(b"example.com/a")} == {b"gz", b"br"}
    assert store.statistics().objects == 2


def test_a_response_replaces_the_variant_with_equal_selecting_fields():
    store = memory_store()
    store.put(stored(b"example.com/a", selecting=GZIP, body=b"old"))
    store.put(stored(b"example.com/a", selecting=BR, body=b"other"))

    store.put(stored(b"example.com/a", selecting=GZIP, body=b"new"))

    bodies = sorted(v.body for v in store.variants(b"example.com/a"))
    assert bodies == [b"new", b"other"]
    assert store.statistics().memory_bytes == sum(v.size for v in store.variants(b"example.com/a"))


def test_variants_come_most_recent_response_first():
    store = memory_store()
    store.put(stored(b"example.com/a", selecting=GZIP, response_time=200.0))
    store.put(stored(b"example.com/a", selecting=BR, response_time=100.0))
    store.put(stored(b"example.com/a", selecting=(), response_time=300.0))

    times = [v.response_time for v in store.variants(b"example.com/a")]

    assert times == [300.0, 200.0, 100.0]


def test_variants_of_equal_response_times_come_last_stored_first():
    store = memory_store()
    store.put(stored(b"example.com/a", selecting=GZIP, body=b"first"))
    store.put(stored(b"example.com/a", selecting=BR, body=b"second"))

    bodies = [v.body for v in store.variants(b"example.com/a")]

    assert bodies == [b"second", b"first"]


def test_remove_drops_every_variant_of_a_key_and_counts_them():
    store = memory_store()
    store.put(stored(b"example.com/a", selecting=GZIP))
    store.put(stored(b"example.com/a", selecting=BR))
    store.put(stored(b"example.com/b"))

    removed = store.remove(b"example.com/a")

    assert removed == 2
    assert store.variants(b"example.com/a") == []
    assert len(store.variants(b"example.com/b")) == 1
    assert store.audit() == []


def test_keys_differing_only_in_query_are_different_keys():
    store = memory_store()
    store.put(stored(b"example.com/a?x=1", body=b"one"))

    assert store.variants(b"example.com/a?x=2") == []
    assert b"example.com/a?x=1" in store

"""RFC 9111 §4.1: which variant answers which request."""

import dataclasses

from cdn_factories import NOW, request, response, stored

from millionscale.cdn.lookup import Fresh, Miss, lookup
from millionscale.cdn.rules import RulesSettings

SETTINGS = RulesSettings()
CACHEABLE = (b"cache-control", b"max-age=60")


def variant(vary: bytes, *client_fields, at=NOW, body=b"x"):
    return stored(
        response(CACHEABLE, (b"vary", vary), at=at), request(*client_fields), at=at, body=body
    )


def test_a_variant_answers_the_same_selecting_fields():
    # §4.1: "the cache MUST NOT use that stored response without revalidation unless all the presented request header fields nominated by that Vary field value match those fields in the original request"
    gzip = variant(b"accept-encoding", (b"accept-encoding", b"gzip"), body=b"gz")
    plain = variant(b"accept-encoding", (b"accept-encoding", b"identity"), body=b"id")

    chosen = lookup(request((b"accept-encoding", b"gzip")), [plain, gzip], NOW, settings=SETTINGS)

    assert isinstance(chosen, Fresh)
    assert chosen.stored.body == b"gz"


def test_different_selecting_fields_miss():
    gzip = variant(b"accept-encoding", (b"accept-encoding", b"gzip"))

    result = lookup(request((b"accept-encoding", b"br")), [gzip], NOW, settings=SETTINGS)

    assert result == Miss("no variant matches")


def test_whitespace_line_splitting_case_and_order_are_normalised():
    # §4.1: "adding or removing whitespace ...; combining multiple header field lines ...; reordering field values when order is not significant; case-normalization"
    original = variant(b"Accept-Encoding", (b"accept-encoding", b"gzip,br"))
    presented = request((b"accept-encoding", b"BR"), (b"accept-encoding", b" gzip "))

    result = lookup(presented, [original], NOW, settings=SETTINGS)

    assert isinstance(result, Fresh)


def test_an_absent_field_matches_only_an_absent_field():
    # §4.1: "If (after any normalization that might take place) a header field is absent from a request, it can only match another request if it is also absent there."
    without = variant(b"accept-language")
    empty = request((b"accept-language", b""))

    absent = lookup(request(), [without], NOW, settings=SETTINGS)
    present = lookup(empty, [without], NOW, settings=SETTINGS)

    assert isinstance(absent, Fresh)
    assert present == Miss("no variant matches")


def test_vary_names_are_order_insensitive():
    made = variant(b"b, a", (b"a", b"1"), (b"b", b"2"))

    assert made.vary == (b"a", b"b")
    assert made.selecting == ((b"a", b"1"), (b"b", b"2"))


def test_the_most_recent_matching_variant_is_used():
    # §4.1: "the most recent response (as determined by the Date header field) is used"
    older = variant(b"x-mode", (b"x-mode", b"1"), at=NOW - 10, body=b"old")
    newer = variant(b"x-mode", (b"x-mode", b"1"), at=NOW - 5, body=b"new")

    chosen = lookup(request((b"x-mode", b"1")), [newer, older], NOW, settings=SETTINGS)

    assert isinstance(chosen, Fresh)
    assert chosen.stored.body == b"new"


def test_a_variant_with_vary_is_preferred_over_one_without():
    # §4.1: "one or more omit the Vary header field, the cache SHOULD choose the most recent ... stored response with a valid Vary field value"
    plain = stored(response(CACHEABLE), at=NOW - 1, body=b"plain")
    varied = variant(b"accept-encoding", (b"accept-encoding", b"gzip"), at=NOW - 5, body=b"varied")

    chosen = lookup(request((b"accept-encoding", b"gzip")), [plain, varied], NOW, settings=SETTINGS)

    assert isinstance(chosen, Fresh)
    assert chosen.stored.body == b"varied"


def test_a_vary_star_record_never_matches():
    made = dataclasses.replace(stored(response(CACHEABLE)), vary=(b"*",))

    assert lookup(request(), [made], NOW, settings=SETTINGS) == Miss("no variant matches")


def test_no_variants_is_a_miss():
    assert lookup(request(), [], NOW, settings=SETTINGS) == Miss("no stored response")

"""RFC 9111 §3 (storing responses), §3.1 (storing header fields) and this cache's own
refusals (partial content, lying framing, Set-Cookie)."""

import pytest
from cdn_factories import NOW, date, refused, request, response, stored

from millionscale.cdn.message import Response, field_value
from millionscale.cdn.rules import RulesSettings

MAX_AGE = (b"cache-control", b"max-age=60")


def test_a_plain_cacheable_response_is_stored_with_its_key():
    made = stored(response(MAX_AGE), request(target=b"/p?q=1", host=b"Example.TEST"))

    assert made.key == b"example.test/p?q=1"
    assert made.body == b"hello, world"


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT"])
def test_only_a_get_response_is_stored(method):
    # §3: "the request method is understood by the cache"; a HEAD response has no content to answer a GET with
    assert refused(response(MAX_AGE), request(method=method)) == "method"


@pytest.mark.parametrize("status", [99, 600, 1000, -1])
def test_a_status_outside_100_to_599_is_refused(status):
    assert refused(response(MAX_AGE, status=status)) == "status out of range"


def test_an_interim_response_is_not_stored():
    # §3: "the response status code is final"
    assert refused(response(MAX_AGE, status=103)) == "interim response"


def test_partial_content_is_not_stored():
    # we store whole representations only (§3.4 would allow combining partial ones)
    ranged = response(MAX_AGE, (b"content-range", b"bytes 0-4/12"))

    assert refused(response(MAX_AGE, status=206)) == "partial content"
    assert refused(ranged) == "partial content"


def test_a_304_is_not_stored():
    assert refused(response(MAX_AGE, status=304), body=b"") == "304 updates a stored response"


def test_a_content_length_that_lies_is_refused():
    assert refused(response(MAX_AGE, (b"content-length", b"99"))) == "content-length mismatch"
    assert refused(response(MAX_AGE, (b"content-length", b"x"))) == "content-length mismatch"


def test_a_repeated_identical_content_length_is_accepted():
    made = stored(response(MAX_AGE, (b"content-length", b"12, 12")))

    assert field_value(made.fields, b"content-length") == b"12"


def test_response_no_store_is_refused():
    # §5.2.2.5: "a cache MUST NOT store any part of either the immediate request or the response"
    assert refused(response((b"cache-control", b"no-store, max-age=60"))) == "no-store"


def test_request_no_store_is_refused():
    # §5.2.1.5: "a cache MUST NOT store any part of either this request or any response to it"
    client = request((b"cache-control", b"no-store"))

    assert refused(response(MAX_AGE), client) == "request no-store"


def test_must_understand_with_an_understood_status_overrides_no_store():
    # §5.2.2.3: "the cache SHOULD ignore the no-store directive if it understands the status code"
    made = stored(response((b"cache-control", b"must-understand, no-store, max-age=60")))
    odd = response((b"cache-control", b"must-understand, no-store, max-age=60"), status=299)

    assert made.freshness_lifetime == 60.0
    assert refused(odd) == "no-store"


def test_private_is_refused_by_a_shared_cache():
    # §5.2.2.7: "a shared cache MUST NOT store the response"
    assert refused(response((b"cache-control", b"private, max-age=60"))) == "private"


def test_qualified_private_drops_only_the_named_fields():
    # §5.2.2.7: "a shared cache MUST NOT store the listed header fields ... but MAY store the remainder of the response message without those fields"
    made = stored(
        response((b"cache-control", b'private="x-user", max-age=60'), (b"x-user", b"alice"))
    )

    assert field_value(made.fields, b"x-user") is None
    assert made.freshness_lifetime == 60.0


def test_hop_by_hop_and_proxy_fields_are_not_stored():
    # §3.1: "the Connection header field and fields whose names are listed in it are required ... to be removed"; "Proxy-Authenticate ..., Proxy-Authentication-Info ..., and Proxy-Authorization"
    made = stored(
        response(
            MAX_AGE,
            (b"connection", b"x-hop, close"),
            (b"x-hop", b"1"),
            (b"keep-alive", b"timeout=5"),
            (b"proxy-authenticate", b"Basic"),
            (b"transfer-encoding", b"chunked"),
            (b"x-kept", b"yes"),
        )
    )

    names = [name for name, _ in made.fields]
    assert names == [b"date", b"cache-control", b"x-kept", b"content-length"]


def test_content_length_is_the_body_length_and_date_is_added():
    # RFC 9110 §6.6.1: "A recipient with a clock that receives a response message without a Date header field MUST add one if the message is cached"
    made = stored(response(MAX_AGE, (b"transfer-encoding", b"chunked"), at=None), at=NOW + 1)

    assert field_value(made.fields, b"content-length") == b"12"
    assert field_value(made.fields, b"date") == date(NOW + 1)


def test_a_204_gets_no_content_length():
    made = stored(response(MAX_AGE, status=204), body=b"")

    assert field_value(made.fields, b"content-length") is None


def test_vary_star_is_not_stored():
    # §4.1: "A stored response with a Vary header field value containing a member "*" always fails to match"
    assert refused(response(MAX_AGE, (b"vary", b"accept, *"))) == "vary: *"


def test_a_redirect_with_max_age_is_stored():
    # §3: "the response contains ... a max-age response directive"
    made = stored(response(MAX_AGE, (b"location", b"/b"), status=302), body=b"")

    assert made.status == 302


def test_no_cache_is_stored_but_must_always_be_revalidated():
    # §5.2.2.4: "the response MUST NOT be used to satisfy any other request without forwarding it for validation"
    made = stored(response((b"cache-control", b"no-cache, max-age=60")))

    assert made.no_cache
    assert made.must_revalidate


def test_surrogate_keys_become_tags():
    made = stored(response(MAX_AGE, (b"surrogate-key", b"photo-1  user-2"), (b"xkey", b"feed")))

    assert made.tags == frozenset({b"photo-1", b"user-2", b"feed"})


def test_stale_windows_and_flags_are_read_once():
    made = stored(
        response(
            (
                b"cache-control",
                b"max-age=60, stale-while-revalidate=30, stale-if-error=600, proxy-revalidate",
            )
        )
    )

    assert (made.stale_while_revalidate, made.stale_if_error, made.must_revalidate) == (
        30.0,
        600.0,
        True,
    )


def test_s_maxage_alone_forbids_stale_serving_but_an_explicit_window_allows_it():
    # §5.2.2.10: "The s-maxage directive incorporates the semantics of the proxy-revalidate response directive for a shared cache"
    bare = stored(response((b"cache-control", b"s-maxage=60")))
    windowed = stored(response((b"cache-control", b"s-maxage=1, stale-while-revalidate=59")))

    assert bare.must_revalidate
    assert not windowed.must_revalidate


def test_the_default_stale_if_error_fills_in_when_the_response_gives_none():
    settings = RulesSettings(default_stale_if_error_s=300.0)

    made = stored(response(MAX_AGE), settings=settings)
    own = stored(response((b"cache-control", b"max-age=60, stale-if-error=5")), settings=settings)

    assert made.stale_if_error == 300.0
    assert own.stale_if_error == 5.0


def test_set_cookie_without_an_explicit_shareable_directive_is_refused():
    # a cookie is one user's: common CDN practice (Varnish's builtin VCL) does not cache it
    assert refused(response(MAX_AGE, (b"set-cookie", b"sid=1"))) == "set-cookie"


@pytest.mark.parametrize(
    "directive", [b"public, max-age=60", b"s-maxage=60", b'max-age=60, no-cache="set-cookie"']
)
def test_an_explicitly_shared_response_is_stored_without_its_cookie(directive):
    # §5.2.2.4 / §5.2.2.7: the qualified forms name fields not to be reused; public / s-maxage say the rest is shareable
    made = stored(response((b"cache-control", directive), (b"set-cookie", b"sid=1")))

    assert field_value(made.fields, b"set-cookie") is None


def test_a_response_without_fields_is_stored_heuristically():
    made = stored(Response(status=200, fields=()))

    assert made.freshness_lifetime == 0.0

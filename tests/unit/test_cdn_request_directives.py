"""RFC 9111 §4 and §5.2.1: request methods and request cache directives at lookup."""

import dataclasses

import pytest
from cdn_factories import NOW, date, request, response, stored

from millionscale.cdn.lookup import Fresh, GatewayTimeout, Miss, Revalidate, Stale, lookup
from millionscale.cdn.rules import RulesSettings

SETTINGS = RulesSettings()
ETAG = (b"etag", b'"v1"')


def sixty():
    return stored(response((b"cache-control", b"max-age=60"), ETAG))


def cc(value: bytes):
    return request((b"cache-control", value))


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_get_and_head_reuse_a_stored_get(method):
    # §4: "the request method associated with the stored response allows it to be used for the presented request"
    assert isinstance(lookup(request(method=method), [sixty()], NOW, settings=SETTINGS), Fresh)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "BREW"])
def test_other_methods_go_to_the_origin(method):
    # §4: "A cache MUST write through requests with methods that are unsafe (Section 9.2.1 of [HTTP]) to the origin server"
    assert lookup(request(method=method), [sixty()], NOW, settings=SETTINGS) == Miss("method")


def test_no_cache_forces_revalidation_with_the_stored_validators():
    # §5.2.1.4: "the client prefers that a stored response not be used to satisfy the request without successful validation on the origin server"
    result = lookup(cc(b"no-cache"), [sixty()], NOW, settings=SETTINGS)

    assert result == Revalidate(sixty(), ((b"if-none-match", b'"v1"'),))


def test_pragma_no_cache_counts_only_without_cache_control():
    # RFC 7234 §5.4: "When the Cache-Control header field is not present in a request, caches MUST consider the no-cache request pragma-directive as having the same effect as if "Cache-Control: no-cache" were present"
    alone = lookup(request((b"pragma", b"no-cache")), [sixty()], NOW, settings=SETTINGS)
    both = request((b"pragma", b"no-cache"), (b"cache-control", b"max-stale"))

    assert isinstance(alone, Revalidate)
    assert isinstance(lookup(both, [sixty()], NOW, settings=SETTINGS), Fresh)


def test_max_age_refuses_an_older_response():
    # §5.2.1.1: "the client prefers a response whose age is less than or equal to the specified number of seconds"
    young = lookup(cc(b"max-age=10"), [sixty()], NOW + 10, settings=SETTINGS)
    old = lookup(cc(b"max-age=10"), [sixty()], NOW + 11, settings=SETTINGS)

    assert isinstance(young, Fresh)
    assert isinstance(old, Revalidate)


def test_max_age_zero_revalidates_even_a_fresh_response():
    assert isinstance(lookup(cc(b"max-age=0"), [sixty()], NOW + 1, settings=SETTINGS), Revalidate)


def test_min_fresh_refuses_a_response_about_to_expire():
    # §5.2.1.3: "the client prefers a response whose freshness lifetime is no less than its current age plus the specified time in seconds"
    ok = lookup(cc(b"min-fresh=20"), [sixty()], NOW + 40, settings=SETTINGS)
    short = lookup(cc(b"min-fresh=20"), [sixty()], NOW + 41, settings=SETTINGS)

    assert isinstance(ok, Fresh)
    assert isinstance(short, Revalidate)


def test_max_stale_accepts_a_stale_response_up_to_its_value():
    # §5.2.1.2: "the client is willing to accept a response that has exceeded its freshness lifetime by no more than the specified number of seconds"
    within = lookup(cc(b"max-stale=30"), [sixty()], NOW + 90, settings=SETTINGS)
    beyond = lookup(cc(b"max-stale=30"), [sixty()], NOW + 91, settings=SETTINGS)

    assert within == Stale(sixty(), revalidate_in_background=False)
    assert isinstance(beyond, Revalidate)


def test_a_bare_max_stale_accepts_any_staleness():
    # §5.2.1.2: "If no value is assigned to max-stale, then the client will accept a stale response of any age"
    assert isinstance(lookup(cc(b"max-stale"), [sixty()], NOW + 10**6, settings=SETTINGS), Stale)


@pytest.mark.parametrize(
    "directive", [b"max-age=60, must-revalidate", b"max-age=60, proxy-revalidate", b"s-maxage=60"]
)
def test_max_stale_cannot_override_must_revalidate(directive):
    # §4.2.4: "A cache MUST NOT generate a stale response if it is prohibited by an explicit in-protocol directive (e.g., by a no-cache response directive, a must-revalidate response directive, or an applicable s-maxage or proxy-revalidate response directive"
    made = stored(response((b"cache-control", directive)))

    assert isinstance(lookup(cc(b"max-stale"), [made], NOW + 61, settings=SETTINGS), Revalidate)


def test_only_if_cached_with_nothing_stored_is_a_504():
    # §5.2.1.7: "the cache SHOULD either respond using a stored response consistent with the other constraints of the request or respond with a 504 (Gateway Timeout) status code"
    assert lookup(cc(b"only-if-cached"), [], NOW, settings=SETTINGS) == GatewayTimeout()


def test_only_if_cached_with_a_stale_response_is_a_504_and_with_a_fresh_one_a_hit():
    stale = lookup(cc(b"only-if-cached"), [sixty()], NOW + 61, settings=SETTINGS)
    fresh = lookup(cc(b"only-if-cached"), [sixty()], NOW + 1, settings=SETTINGS)

    assert stale == GatewayTimeout()
    assert isinstance(fresh, Fresh)


def test_a_stale_response_is_revalidated_with_both_validators():
    # §4.3.1: the cache "MUST send the relevant entity tags (using If-None-Match)" and "SHOULD send the Last-Modified value (using If-Modified-Since)"
    made = stored(
        response((b"cache-control", b"max-age=60"), ETAG, (b"last-modified", date(NOW - 99)))
    )

    result = lookup(request(), [made], NOW + 60, settings=SETTINGS)

    assert result == Revalidate(
        made, ((b"if-none-match", b'"v1"'), (b"if-modified-since", date(NOW - 99)))
    )


def test_a_stale_response_without_validators_is_revalidated_unconditionally():
    made = stored(response((b"cache-control", b"max-age=60")))

    assert lookup(request(), [made], NOW + 60, settings=SETTINGS) == Revalidate(made, ())


def test_a_no_cache_response_is_revalidated_every_time():
    # §5.2.2.4: "the response MUST NOT be used to satisfy any other request without forwarding it for validation and receiving a successful response"
    made = stored(response((b"cache-control", b"no-cache, max-age=600"), ETAG))

    assert isinstance(lookup(request(), [made], NOW, settings=SETTINGS), Revalidate)


def test_a_soft_purged_response_is_never_fresh():
    made = dataclasses.replace(sixty(), invalidated=True)

    assert isinstance(lookup(request(), [made], NOW, settings=SETTINGS), Revalidate)


def test_client_directives_can_be_ignored_by_setting():
    # the common CDN hardening: Varnish's builtin VCL does not read request Cache-Control
    ignoring = RulesSettings(client_cache_control=False)

    result = lookup(cc(b"no-cache"), [sixty()], NOW, settings=ignoring)

    assert isinstance(result, Fresh)

"""RFC 5861 §4: stale-if-error, and the edge's default grace."""

import dataclasses

from cdn_factories import NOW, request, response, stored

from millionscale.cdn.rules import RulesSettings
from millionscale.cdn.stale import ERROR_STATUSES, usable_on_error


def sie(directives: bytes = b"max-age=60, stale-if-error=300", **settings):
    return stored(response((b"cache-control", directives)), settings=RulesSettings(**settings))


def test_within_the_window_a_stale_response_stands_in_for_an_error():
    # RFC 5861 §4: "when an error is encountered, a cached stale response MAY be used to satisfy the request, regardless of other freshness information"
    assert usable_on_error(sie(), NOW + 360, request())


def test_beyond_the_window_it_does_not():
    # RFC 5861 §4: "when the cached response is more stale than the indicated amount, the cached response SHOULD NOT be used to satisfy the request"
    assert not usable_on_error(sie(), NOW + 361, request())


def test_without_a_window_a_stale_response_is_not_used():
    assert not usable_on_error(sie(b"max-age=60"), NOW + 61, request())


def test_a_fresh_response_always_is():
    assert usable_on_error(sie(b"max-age=60"), NOW + 59, request())


def test_the_default_grace_applies_when_the_response_gives_none():
    made = sie(b"max-age=60", default_stale_if_error_s=100.0)

    assert usable_on_error(made, NOW + 160, request())
    assert not usable_on_error(made, NOW + 161, request())


def test_the_requests_window_counts_for_that_request():
    # RFC 5861 §4: "When used as a request Cache-Control extension, its scope of application is the request it appears in"
    client = request((b"cache-control", b"stale-if-error=1000"))

    assert usable_on_error(sie(b"max-age=60"), NOW + 1000, client)
    assert not usable_on_error(sie(b"max-age=60"), NOW + 1000, request())


def test_must_revalidate_forbids_it():
    # RFC 9111 §5.2.2.2: "if a cache is disconnected, the cache MUST generate an error response rather than reuse the stale response"
    made = sie(b"max-age=60, stale-if-error=300, must-revalidate")

    assert not usable_on_error(made, NOW + 61, request())


def test_a_soft_purged_response_serves_only_within_the_window():
    purged = dataclasses.replace(sie(), invalidated=True)
    bare = dataclasses.replace(sie(b"max-age=60"), invalidated=True)

    assert usable_on_error(purged, NOW + 10, request())
    assert not usable_on_error(bare, NOW + 10, request())


def test_the_error_statuses_are_rfc_5861s():
    # RFC 5861 §4: "An error is any situation that would result in a 500, 502, 503, or 504 HTTP response status code being returned."
    assert frozenset({500, 502, 503, 504}) == ERROR_STATUSES

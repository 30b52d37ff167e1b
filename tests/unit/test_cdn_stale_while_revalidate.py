"""RFC 5861 §3: stale-while-revalidate."""

import dataclasses

import pytest
from cdn_factories import DEFAULTS, NOW, request, response, stored

from millionscale.cdn.lookup import Fresh, Revalidate, Stale, lookup


def swr(directives: bytes = b"max-age=60, stale-while-revalidate=30"):
    return stored(response((b"cache-control", directives), (b"etag", b'"e"')))


def test_within_the_window_it_is_served_stale_and_revalidated_in_the_background():
    # RFC 5861 §3: "caches MAY serve the response in which it appears after it becomes stale, up to the indicated number of seconds" and "the cache SHOULD attempt to revalidate it while still serving stale responses (i.e., without blocking)"
    made = swr()

    result = lookup(request(), [made], NOW + 90, settings=DEFAULTS)

    assert result == Stale(made, revalidate_in_background=True)


def test_beyond_the_window_it_is_revalidated_first():
    assert isinstance(lookup(request(), [swr()], NOW + 90.5, settings=DEFAULTS), Revalidate)


def test_while_fresh_the_window_does_not_matter():
    assert isinstance(lookup(request(), [swr()], NOW + 59, settings=DEFAULTS), Fresh)


def test_must_revalidate_forbids_it():
    # RFC 9111 §4.2.4: "A cache MUST NOT generate a stale response if it is prohibited by an explicit in-protocol directive (e.g., by ... a must-revalidate response directive"
    made = swr(b"max-age=60, stale-while-revalidate=30, must-revalidate")

    assert isinstance(lookup(request(), [made], NOW + 61, settings=DEFAULTS), Revalidate)


def test_s_maxage_with_an_explicit_window_allows_it():
    made = swr(b"s-maxage=1, stale-while-revalidate=59")

    assert isinstance(lookup(request(), [made], NOW + 30, settings=DEFAULTS), Stale)


def test_a_soft_purged_response_is_not_served_within_the_window():
    made = dataclasses.replace(swr(), invalidated=True)

    assert isinstance(lookup(request(), [made], NOW + 61, settings=DEFAULTS), Revalidate)


@pytest.mark.parametrize("value", [b"max-age=3600", b"min-fresh=1", b"no-cache"])
def test_a_client_asking_for_fresh_content_is_not_served_stale(value):
    # RFC 9111 §5.2.1.1: "Unless the max-stale request directive is also present, the client does not wish to receive a stale response."
    client = request((b"cache-control", value))

    assert isinstance(lookup(client, [swr()], NOW + 61, settings=DEFAULTS), Revalidate)


def test_only_if_cached_may_be_answered_from_the_window():
    client = request((b"cache-control", b"only-if-cached"))

    assert isinstance(lookup(client, [swr()], NOW + 61, settings=DEFAULTS), Stale)

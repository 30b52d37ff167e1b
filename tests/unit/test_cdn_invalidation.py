"""RFC 9111 §4.4: invalidation by unsafe methods."""

import pytest
from cdn_factories import request, response

from millionscale.cdn.invalidation import invalidated_by


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "PURGE-ME"])
def test_an_unsafe_request_invalidates_its_target(method):
    # §4.4: "A cache MUST invalidate the target URI when it receives a non-error status code in response to an unsafe request method (including methods whose safety is unknown)."
    keys = invalidated_by(request(method=method, target=b"/p?x=1"), response(status=204))

    assert keys == [b"example.test/p?x=1"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE"])
def test_a_safe_request_invalidates_nothing(method):
    assert invalidated_by(request(method=method), response()) == []


@pytest.mark.parametrize("status", [400, 404, 500, 503, 100])
def test_an_error_response_invalidates_nothing(status):
    # §4.4: "A "non-error response" is one with a 2xx (Successful) or 3xx (Redirection) status code."
    assert invalidated_by(request(method="POST"), response(status=status)) == []


def test_location_and_content_location_on_the_same_host_are_invalidated():
    # §4.4: "the URI(s) in the Location and Content-Location response header fields (if present) are candidates for invalidation; such URIs can be obtained by resolving them relative to the target URI"
    answer = response(
        (b"location", b"../photos/7"), (b"content-location", b"http://EXAMPLE.test/c"), status=201
    )

    keys = invalidated_by(request(method="POST", target=b"/api/photos"), answer)

    assert keys == [b"example.test/api/photos", b"example.test/photos/7", b"example.test/c"]


def test_another_hosts_location_is_not_invalidated():
    # §4.4: "a cache MUST NOT trigger an invalidation under these conditions if the origin ... of a URI is different from that of the target URI"
    answer = response((b"location", b"http://elsewhere.test/x"), status=303)

    assert invalidated_by(request(method="POST"), answer) == [b"example.test/a"]


def test_a_malformed_target_invalidates_nothing_rather_than_raising():
    assert invalidated_by(request(method="POST", target=b"http://[::1/x"), response()) == []

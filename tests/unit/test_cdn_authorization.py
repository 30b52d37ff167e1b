"""RFC 9111 §3.5: responses to requests with Authorization."""

import pytest
from cdn_factories import refused, request, response, stored

AUTHORIZED = (b"authorization", b"Bearer abc")


def test_a_response_to_an_authorized_request_is_not_stored_by_default():
    # §3.5: "A shared cache MUST NOT use a cached response to a request with an Authorization header field to satisfy any subsequent request unless the response contains a Cache-Control field with a response directive that allows it to be stored by a shared cache"
    reason = refused(response((b"cache-control", b"max-age=60")), request(AUTHORIZED))

    assert reason == "authorization"


@pytest.mark.parametrize("directive", [b"public", b"s-maxage=60", b"must-revalidate, max-age=60"])
def test_public_s_maxage_or_must_revalidate_allow_it(directive):
    # §3.5: "the following Cache-Control response directives have such an effect: must-revalidate (Section 5.2.2.2), public (Section 5.2.2.9), and s-maxage (Section 5.2.2.10)"
    made = stored(response((b"cache-control", directive)), request(AUTHORIZED))

    assert made.key == b"example.test/a"


def test_a_heuristically_cacheable_response_to_an_authorized_request_is_not_stored():
    assert refused(response(), request(AUTHORIZED)) == "authorization"


def test_the_targeted_field_can_allow_it():
    # RFC 9213 §2.1: the targeted field's directives replace Cache-Control's for this cache
    made = stored(
        response((b"cache-control", b"private"), (b"cdn-cache-control", b"public, max-age=60")),
        request(AUTHORIZED),
    )

    assert made.freshness_lifetime == 60.0

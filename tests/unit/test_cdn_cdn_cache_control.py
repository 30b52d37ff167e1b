"""RFC 9213: CDN-Cache-Control, a targeted field that replaces Cache-Control and
Expires for this cache when present and valid."""

import pytest
from cdn_factories import NOW, date, refused, request, response, stored

from millionscale.cdn.construct import response_fields
from millionscale.cdn.rules import RulesSettings


def test_it_overrides_cache_control_for_freshness():
    # RFC 9213 §3.1: "Cache-Control: max-age=60, s-maxage=120 / CDN-Cache-Control: max-age=600" instructs "a CDN cache ... to consider the response fresh for 600 seconds"
    made = stored(
        response(
            (b"cache-control", b"max-age=60, s-maxage=120"), (b"cdn-cache-control", b"max-age=600")
        )
    )

    assert made.freshness_lifetime == 600.0


def test_it_lets_a_cdn_store_what_other_caches_may_not():
    # RFC 9213 §3.1: "Cache-Control: no-store / CDN-Cache-Control: none" would "prevent all caches except for CDN caches from storing the response"
    made = stored(response((b"cache-control", b"no-store"), (b"cdn-cache-control", b"none")))

    assert made.freshness_lifetime == 0.0


def test_its_no_store_prevents_storing_whatever_cache_control_says():
    # RFC 9213 §2.1: caches "MUST implement the semantics of the following cache directives: max-age, must-revalidate, no-store, no-cache, and private"
    origin = response((b"cache-control", b"max-age=600"), (b"cdn-cache-control", b"no-store"))

    assert refused(origin) == "no-store"


def test_expires_is_ignored_when_it_rules():
    # RFC 9213 §2.1: the cache "MUST ignore the Cache-Control and Expires header fields in that response"
    made = stored(
        response(
            (b"expires", date(NOW + 900)),
            (b"cdn-cache-control", b"must-revalidate"),
            (b"last-modified", date(NOW - 1000)),
        )
    )

    assert made.freshness_lifetime == pytest.approx(100.0)
    assert made.must_revalidate


@pytest.mark.parametrize(
    "value",
    [b"", b"max-age=60,", b"Max-Age=60", b"max-age=60 s-maxage=5", b'no-cache="unterminated'],
)
def test_an_invalid_or_empty_one_is_ignored_as_a_whole(value):
    # RFC 9213 §2.1: "If a targeted field in a given response is empty, or a parsing error is encountered, that field SHOULD be ignored by the cache (i.e., it should behave as if the field were not present"
    made = stored(response((b"cache-control", b"max-age=30"), (b"cdn-cache-control", value)))

    assert made.freshness_lifetime == 30.0


def test_stale_windows_are_read_from_it():
    made = stored(
        response(
            (b"cache-control", b"max-age=5"),
            (b"cdn-cache-control", b"max-age=60, stale-while-revalidate=30, stale-if-error=600"),
        )
    )

    assert (made.stale_while_revalidate, made.stale_if_error) == (30.0, 600.0)


def test_the_target_is_a_setting():
    settings = RulesSettings(cdn_cache_control_target=b"acme-cache-control")
    origin = response(
        (b"cache-control", b"max-age=5"),
        (b"cdn-cache-control", b"max-age=60"),
        (b"acme-cache-control", b"max-age=99"),
    )

    made = stored(origin, settings=settings)
    deaf = stored(origin, settings=RulesSettings(cdn_cache_control_target=None))

    assert made.freshness_lifetime == 99.0
    assert deaf.freshness_lifetime == 5.0


def test_it_is_forwarded_downstream():
    # RFC 9213 §3: "CDN caches that use CDN-Cache-Control will typically forward this header so that downstream CDN caches can use it as well."
    made = stored(response((b"cdn-cache-control", b"max-age=60")))

    assert (b"cdn-cache-control", b"max-age=60") in response_fields(made, NOW)


def test_a_qualified_private_string_drops_the_field():
    made = stored(
        response((b"cdn-cache-control", b'max-age=60, private="x-user"'), (b"x-user", b"alice")),
        request(),
    )

    assert all(name != b"x-user" for name, _ in made.fields)

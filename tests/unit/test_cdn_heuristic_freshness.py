"""RFC 9111 §4.2.2: heuristic freshness, only without explicit expiration and only for
heuristically cacheable statuses (RFC 9110 §15.1) or ``public``."""

import pytest
from cdn_factories import NOW, date, refused, response, stored

from millionscale.cdn.rules import RulesSettings

DAY = 86400.0


def test_ten_percent_of_the_time_since_last_modified():
    # §4.2.2: "no more than some fraction of the interval since that time. A typical setting of this fraction might be 10%."
    made = stored(response((b"last-modified", date(NOW - 3600))))

    assert made.freshness_lifetime == pytest.approx(360.0)


def test_the_heuristic_is_capped():
    made = stored(response((b"last-modified", date(NOW - 365 * DAY))))

    assert made.freshness_lifetime == RulesSettings().heuristic_max_s


def test_the_fraction_and_cap_are_settings():
    settings = RulesSettings(heuristic_fraction=0.5, heuristic_max_s=100.0)

    made = stored(response((b"last-modified", date(NOW - 150))), settings=settings)
    capped = stored(response((b"last-modified", date(NOW - 1000))), settings=settings)

    assert made.freshness_lifetime == 75.0
    assert capped.freshness_lifetime == 100.0


def test_no_heuristic_when_an_explicit_expiration_is_present():
    # §4.2.2: "a cache MUST NOT use heuristics to determine freshness when an explicit expiration time is present in the stored response"
    made = stored(response((b"expires", b"0"), (b"last-modified", date(NOW - DAY))))

    assert made.freshness_lifetime == 0.0


def test_without_last_modified_the_default_ttl_applies():
    settings = RulesSettings(default_ttl_s=7.0)

    made = stored(response(), settings=settings)
    default = stored(response())

    assert made.freshness_lifetime == 7.0
    assert default.freshness_lifetime == 0.0


@pytest.mark.parametrize("status", [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])
def test_heuristically_cacheable_statuses_are_stored(status):
    # RFC 9110 §15.1: "Responses with status codes that are defined as heuristically cacheable (e.g., 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, and 501 in this specification) can be reused by a cache with heuristic expiration"
    made = stored(response((b"last-modified", date(NOW - 1000)), status=status), body=b"")

    assert made.freshness_lifetime == pytest.approx(100.0)


@pytest.mark.parametrize("status", [302, 303, 307, 400, 403, 500, 502, 503])
def test_other_statuses_without_explicit_freshness_are_not_stored(status):
    # §3: the response contains at least one of ... "a status code that is defined as heuristically cacheable"
    reason = refused(response((b"last-modified", date(NOW - 1000)), status=status))

    assert reason == "no explicit freshness and the status is not heuristically cacheable"


def test_public_makes_any_status_heuristically_cacheable():
    # §4.2.2: "or is marked as explicitly cacheable (e.g., with a public response directive)"
    made = stored(
        response((b"cache-control", b"public"), (b"last-modified", date(NOW - 1000)), status=302)
    )

    assert made.freshness_lifetime == pytest.approx(100.0)


def test_a_last_modified_after_date_gives_no_heuristic():
    made = stored(response((b"last-modified", date(NOW + 1000))))

    assert made.freshness_lifetime == 0.0

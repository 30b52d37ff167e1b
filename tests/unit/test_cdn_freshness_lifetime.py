"""RFC 9111 §4.2.1: a stored response's freshness lifetime, s-maxage > max-age > Expires."""

import pytest
from cdn_factories import NOW, date, request, response, stored

from millionscale.cdn.lookup import Fresh, Revalidate, lookup
from millionscale.cdn.rules import RulesSettings


def test_s_maxage_wins_over_max_age_and_expires():
    # §4.2.1: "If the cache is shared and the s-maxage response directive is present, use its value"
    made = stored(
        response((b"cache-control", b"max-age=60, s-maxage=600"), (b"expires", date(NOW + 6000)))
    )

    assert made.freshness_lifetime == 600.0


def test_max_age_wins_over_expires():
    # §4.2.1: "or If the max-age response directive is present, use its value"
    made = stored(response((b"cache-control", b"max-age=60"), (b"expires", date(NOW + 6000))))

    assert made.freshness_lifetime == 60.0


def test_expires_minus_date_without_directives():
    # §4.2.1: "If the Expires response header field is present, use its value minus the value of the Date"
    made = stored(response((b"expires", date(NOW + 300))), at=NOW + 5)

    assert made.freshness_lifetime == 300.0


def test_expires_without_date_counts_from_receipt():
    # §4.2.1: "(using the time the message was received if it is not present, as per Section 6.6.1 of [HTTP])"
    made = stored(response((b"expires", date(NOW + 300)), at=None), at=NOW + 100)

    assert made.freshness_lifetime == 200.0


@pytest.mark.parametrize("value", [b"0", b"-1", b"yesterday", b""])
def test_an_invalid_expires_means_already_expired(value):
    # §5.3: "A cache recipient MUST interpret invalid date formats, especially the value "0", as representing a time in the past"
    made = stored(response((b"expires", value), (b"last-modified", date(NOW - 86400))))

    assert made.freshness_lifetime == 0.0


def test_an_expires_in_the_past_is_a_zero_lifetime():
    made = stored(response((b"expires", date(NOW - 10))))

    assert made.freshness_lifetime == 0.0


@pytest.mark.parametrize("value", [b"max-age=abc", b"max-age=-5", b"max-age", b"max-age=1.5"])
def test_an_invalid_max_age_is_stale(value):
    # §4.2.1: "caches are encouraged to consider responses that have invalid freshness information (e.g., a max-age directive with non-integer content) to be stale"
    made = stored(response((b"cache-control", value), (b"last-modified", date(NOW - 86400))))

    assert made.freshness_lifetime == 0.0


def test_the_first_max_age_wins():
    # §4.2.1: "either the first occurrence should be used or the response should be considered stale"
    made = stored(response((b"cache-control", b"max-age=10"), (b"cache-control", b"max-age=99")))

    assert made.freshness_lifetime == 10.0


def test_a_quoted_max_age_is_accepted():
    # §5.2: "recipients ought to accept both forms, even if a specific form is required for generation"
    made = stored(response((b"cache-control", b'max-age="30"')))

    assert made.freshness_lifetime == 30.0


def test_a_huge_max_age_is_capped_at_2_to_the_31():
    # §1.2.2: "the cache MUST consider the value to be 2147483648 (2^31)"
    made = stored(response((b"cache-control", b"max-age=99999999999999999999")))

    assert made.freshness_lifetime == 2147483648.0


def test_fresh_while_the_lifetime_exceeds_the_age_and_not_at_it():
    # §4.2: "response_is_fresh = (freshness_lifetime > current_age)"
    made = stored(response((b"cache-control", b"max-age=60")))
    settings = RulesSettings()

    before = lookup(request(), [made], NOW + 59.9, settings=settings)
    at = lookup(request(), [made], NOW + 60, settings=settings)

    assert isinstance(before, Fresh)
    assert isinstance(at, Revalidate)

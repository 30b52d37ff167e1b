"""RFC 9111 §4.3.3, §4.3.4 and §3.2: handling the origin's answer to a revalidation."""

import dataclasses

from cdn_factories import DEFAULTS, NOW, date, request, response, stored

from millionscale.cdn.lookup import Fresh, lookup
from millionscale.cdn.message import Response, Stored, field_value
from millionscale.cdn.validation import after_revalidation

ETAG = (b"etag", b'"v1"')
LATER = NOW + 100


def old() -> Stored:
    return stored(
        response(
            (b"cache-control", b"max-age=60"),
            ETAG,
            (b"last-modified", date(NOW - 3600)),
            (b"x-version", b"1"),
            (b"surrogate-key", b"a"),
        )
    )


def revalidated(stored_: Stored, not_modified: Response) -> Stored | None:
    return after_revalidation(
        stored_,
        not_modified,
        request_time=LATER - 1,
        response_time=LATER,
        now=LATER,
        settings=DEFAULTS,
    )


def test_a_matching_304_freshens_the_stored_response():
    # §4.3.3: "If the status code is 304 (Not Modified) ..., the cache SHOULD update its stored response as described in Section 4.3.4"
    result = revalidated(
        old(), response(ETAG, (b"cache-control", b"max-age=60"), status=304, at=LATER)
    )

    assert result is not None
    assert result.response_time == LATER
    assert result.age(LATER) == 1.0
    assert isinstance(lookup(request(), [result], LATER + 30, settings=DEFAULTS), Fresh)


def test_the_304s_fields_replace_the_stored_ones_and_the_rest_stay():
    # §3.2: "the cache MUST add each header field in the provided response to the stored response, replacing field values that are already present"
    not_modified = response(
        ETAG, (b"x-version", b"2"), (b"cache-control", b"max-age=5"), status=304, at=LATER
    )

    result = revalidated(old(), not_modified)

    assert result is not None
    assert field_value(result.fields, b"x-version") == b"2"
    assert field_value(result.fields, b"last-modified") == date(NOW - 3600)
    assert field_value(result.fields, b"date") == date(LATER)
    assert result.freshness_lifetime == 5.0
    assert result.body == old().body


def test_content_length_and_content_encoding_are_not_updated():
    # §3.2: exceptions include "The Content-Length header field"; a cache "MAY omit these header fields from updating stored responses on an exceptional basis" (its example: Content-Encoding)
    not_modified = response(
        ETAG, (b"content-length", b"0"), (b"content-encoding", b"br"), status=304, at=LATER
    )

    result = revalidated(old(), not_modified)

    assert result is not None
    assert field_value(result.fields, b"content-length") == b"12"
    assert field_value(result.fields, b"content-encoding") is None


def test_a_304_with_a_different_strong_etag_does_not_update():
    # §4.3.4: "If none of the stored responses contain at least one of the same strong validators, then the cache MUST NOT use the new response to update any stored responses."
    result = revalidated(old(), response((b"etag", b'"v2"'), status=304, at=LATER))

    assert result is None


def test_a_weak_etag_updates_by_weak_comparison():
    # §4.3.4: "If the new response contains no strong validators but does contain one or more weak validators, and those validators correspond to one of the cache's stored responses, then the most recent of those matching stored responses is identified for update."
    result = revalidated(old(), response((b"etag", b'W/"v1"'), status=304, at=LATER))

    assert result is not None


def test_last_modified_selects_when_there_is_no_etag():
    same = revalidated(old(), response((b"last-modified", date(NOW - 3600)), status=304, at=LATER))
    other = revalidated(old(), response((b"last-modified", date(NOW - 60)), status=304, at=LATER))

    assert same is not None
    assert other is None


def test_a_304_without_validators_updates_the_one_response_that_was_validated():
    # §4.3.4: "If the new response does not include any form of validator ..., and there is only one stored response ..."
    result = revalidated(old(), response(status=304, at=LATER))

    assert result is not None


def test_a_304_without_date_is_dated_by_its_receipt():
    result = revalidated(old(), response(ETAG, status=304, at=None))

    assert result is not None
    assert result.age(LATER) == 1.0


def test_a_304_carrying_the_shields_age_is_counted():
    # §4.2.3: "corrected_age_value = age_value + response_delay"
    result = revalidated(old(), response(ETAG, (b"age", b"20"), status=304, at=LATER))

    assert result is not None
    assert result.corrected_initial_age == 21.0


def test_a_304_that_says_no_store_is_not_merged():
    result = revalidated(
        old(), response(ETAG, (b"cache-control", b"no-store"), status=304, at=LATER)
    )

    assert result is None


def test_a_304_with_a_new_vary_is_not_merged():
    result = revalidated(old(), response(ETAG, (b"vary", b"accept"), status=304, at=LATER))

    assert result is None


def test_a_full_response_is_not_a_revalidation():
    # §4.3.3: "A full response (i.e., one containing content) indicates that none of the stored responses nominated in the conditional request are suitable. Instead, the cache MUST use the full response"
    assert revalidated(old(), response(ETAG, status=200, at=LATER)) is None


def test_revalidation_clears_a_soft_purge_and_keeps_tags_and_selection():
    purged = dataclasses.replace(old(), invalidated=True, selecting=((b"accept", b"x"),))

    result = revalidated(purged, response(ETAG, status=304, at=LATER))

    assert result is not None
    assert not result.invalidated
    assert result.tags == frozenset({b"a"})
    assert result.selecting == ((b"accept", b"x"),)
    assert result.key == purged.key

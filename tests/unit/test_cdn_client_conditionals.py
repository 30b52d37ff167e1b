"""RFC 9111 §4.3.2: a client's conditional request answered by the cache itself."""

import pytest
from cdn_factories import NOW, date, request, response, stored

from millionscale.cdn.validation import client_not_modified, not_modified_fields


def fresh():
    return stored(
        response(
            (b"cache-control", b"max-age=60"),
            (b"etag", b'"v1"'),
            (b"last-modified", date(NOW - 60)),
            (b"content-type", b"text/plain"),
        )
    )


@pytest.mark.parametrize("value", [b'"v1"', b'W/"v1"', b'"v0", "v1"', b"*"])
def test_if_none_match_with_a_matching_tag_is_not_modified(value):
    # RFC 9110 §13.1.2: "A recipient MUST use the weak comparison function when comparing entity tags for If-None-Match"
    assert client_not_modified(request((b"if-none-match", value)), fresh())


def test_if_none_match_without_a_match_is_served_in_full():
    assert not client_not_modified(request((b"if-none-match", b'"v0"')), fresh())


def test_if_none_match_takes_precedence_over_if_modified_since():
    # §4.3.2: "If-None-Match takes precedence over If-Modified-Since"
    client = request((b"if-none-match", b'"v0"'), (b"if-modified-since", date(NOW)))

    assert not client_not_modified(client, fresh())


def test_if_modified_since_compares_with_last_modified():
    # RFC 9110 §13.1.3
    assert client_not_modified(request((b"if-modified-since", date(NOW - 60))), fresh())
    assert not client_not_modified(request((b"if-modified-since", date(NOW - 61))), fresh())


def test_without_last_modified_the_stored_date_is_used():
    # §4.3.2: "a cache SHOULD use the stored response's Date field value (or, if no Date field is present, the time that the stored response was received) to evaluate the conditional"
    made = stored(response((b"cache-control", b"max-age=60")))

    assert client_not_modified(request((b"if-modified-since", date(NOW))), made)
    assert not client_not_modified(request((b"if-modified-since", date(NOW - 1))), made)


@pytest.mark.parametrize("value", [b"yesterday", b""])
def test_an_invalid_if_modified_since_is_ignored(value):
    # RFC 9110 §13.1.3: "A recipient MUST ignore the If-Modified-Since header field if the received field value is not a valid HTTP-date"
    assert not client_not_modified(request((b"if-modified-since", value)), fresh())


def test_conditionals_apply_only_to_get_and_head_and_a_200():
    # RFC 9110 §13.1.3: ignored "if the request method is neither GET nor HEAD"
    redirect = stored(response((b"cache-control", b"max-age=60"), (b"etag", b'"v1"'), status=301))

    assert not client_not_modified(request((b"if-none-match", b"*"), method="POST"), fresh())
    assert not client_not_modified(request((b"if-none-match", b"*")), redirect)


def test_the_304_carries_the_validators_and_an_age():
    # RFC 9110 §15.4.5: "The server generating a 304 response MUST generate any of the following header fields that would have been sent in a 200 (OK) response to the same request: Content-Location, Date, ETag, and Vary; Cache-Control and Expires"
    fields = dict(not_modified_fields(fresh(), NOW + 3))

    assert fields[b"etag"] == b'"v1"'
    assert fields[b"age"] == b"3"
    assert b"content-type" not in fields
    assert b"content-length" not in fields

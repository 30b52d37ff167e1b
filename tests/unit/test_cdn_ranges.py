"""RFC 9110 §14 (range requests) and §13.1.5 (If-Range), served from whole stored responses."""

import pytest
from cdn_factories import NOW, date, request, response, stored

from millionscale.cdn.ranges import RangeNotSatisfiable, parse_range, range_applies


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"bytes=0-4", (0, 4)),
        (b"bytes=5-", (5, 11)),
        (b"bytes=-3", (9, 11)),
        (b"bytes=-100", (0, 11)),
        (b"bytes=3-100", (3, 11)),
        (b"BYTES = 2-2", (2, 2)),
    ],
)
def test_single_ranges(value, expected):
    # RFC 9110 §14.1.2: "If the last-pos value is absent, or if the value is greater than or equal to the current length of the representation data, the byte range is interpreted as the remainder"; "If the selected representation is shorter than the specified suffix-length, the entire representation is used."
    assert parse_range(value, 12) == expected


@pytest.mark.parametrize("value", [b"bytes=12-", b"bytes=99-100", b"bytes=-0"])
def test_unsatisfiable_ranges(value):
    # RFC 9110 §14.1.1: an int-range "is satisfiable if the first-pos is less than the current length", a suffix-range "if the suffix-length is greater than zero"
    result = parse_range(value, 12)

    assert result == RangeNotSatisfiable(12)
    assert isinstance(result, RangeNotSatisfiable)
    assert result.content_range == b"bytes */12"


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"bytes=0-1,3-4",
        b"items=0-1",
        b"bytes=5-2",
        b"bytes=a-b",
        b"bytes",
        b"bytes=-",
        b"bytes=1",
    ],
)
def test_several_or_invalid_ranges_serve_the_whole_representation(value):
    # RFC 9110 §14.2: "A server MAY ignore the Range header field."
    assert parse_range(value, 12) is None


def test_a_zero_length_representation_is_served_whole():
    assert parse_range(b"bytes=0-", 0) is None


def etagged():
    return stored(
        response(
            (b"cache-control", b"max-age=60"),
            (b"etag", b'"v1"'),
            (b"last-modified", date(NOW - 60)),
        )
    )


def test_range_applies_to_get_with_range():
    assert range_applies(request((b"range", b"bytes=0-1")), etagged())


def test_range_is_ignored_for_other_methods_or_without_range():
    # RFC 9110 §14.2: "GET is the only method for which range handling is defined"
    assert not range_applies(request((b"range", b"bytes=0-1"), method="HEAD"), etagged())
    assert not range_applies(request(), etagged())


def test_if_range_with_a_strongly_matching_etag_applies():
    # RFC 9110 §13.1.5: "If the validator given in the If-Range header field is an entity tag that is a strong match for the selected representation's current entity tag, the condition is true"
    same = request((b"range", b"bytes=0-1"), (b"if-range", b'"v1"'))
    other = request((b"range", b"bytes=0-1"), (b"if-range", b'"v0"'))
    weak = request((b"range", b"bytes=0-1"), (b"if-range", b'W/"v1"'))

    assert range_applies(same, etagged())
    assert not range_applies(other, etagged())
    assert not range_applies(weak, etagged())


def test_if_range_with_the_exact_strong_last_modified_applies():
    # RFC 9110 §13.1.5: the condition is true if the HTTP-date "exactly matches the Last-Modified field value" and is a strong validator (§8.8.2.2: Date at least one second after it)
    same = request((b"range", b"bytes=0-1"), (b"if-range", date(NOW - 60)))
    other = request((b"range", b"bytes=0-1"), (b"if-range", date(NOW - 61)))
    weak_lm = stored(response((b"cache-control", b"max-age=60"), (b"last-modified", date(NOW))))

    assert range_applies(same, etagged())
    assert not range_applies(other, etagged())
    assert not range_applies(request((b"range", b"bytes=0-1"), (b"if-range", date(NOW))), weak_lm)

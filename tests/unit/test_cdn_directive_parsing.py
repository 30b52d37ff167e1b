"""RFC 9111 §5.2 (Cache-Control), RFC 9213 §2 / RFC 8941 (targeted fields) and
RFC 9110 §5.6.7 (HTTP dates): parsing."""

import math

import pytest

from millionscale.cdn.cachecontrol import EMPTY, Directives, parse_directives, parse_targeted
from millionscale.cdn.httpdate import format_http_date, parse_http_date
from millionscale.cdn.message import field_values

SUNDAY = 784111777.0  # RFC 9110 §5.6.7's example instant, Sun, 06 Nov 1994 08:49:37 GMT


def cache_control(*lines: bytes) -> Directives:
    return parse_directives(
        field_values(tuple((b"cache-control", line) for line in lines), b"cache-control")
    )


def test_names_are_case_insensitive_and_lines_combine():
    # §5.2: "Cache directives are identified by a token, to be compared case-insensitively"
    parsed = cache_control(b"Max-Age=5, PUBLIC", b"no-transform")

    assert (parsed.max_age, parsed.public, parsed.no_transform) == (5, True, True)


def test_unknown_directives_are_ignored():
    # §5.2.3: "A cache MUST ignore unrecognized cache directives."
    assert cache_control(b"community=UCI, x-thing") == EMPTY


def test_qualified_no_cache_and_private_keep_their_field_names():
    # §5.2.2.4: 'no-cache=#field-name'; §5.2.2.7 likewise for private
    parsed = cache_control(b'no-cache="Set-Cookie, X-A", private="x-b"')

    assert parsed.no_cache_fields == (b"set-cookie", b"x-a")
    assert parsed.private_fields == (b"x-b",)
    assert not parsed.no_cache
    assert not parsed.private


def test_bare_no_cache_and_private():
    parsed = cache_control(b"no-cache, private")

    assert parsed.no_cache
    assert parsed.private


def test_request_directives():
    # §5.2.1
    parsed = cache_control(b"max-stale, min-fresh=5, only-if-cached, no-store")

    assert parsed.max_stale == math.inf
    assert (parsed.min_fresh, parsed.only_if_cached, parsed.no_store) == (5, True, True)


def test_an_invalid_max_stale_is_ignored_and_other_deltas_read_as_zero():
    # §4.2.1: invalid freshness information is read as stale; an invalid max-stale permits nothing
    parsed = cache_control(b"max-stale=soon, max-age=x, s-maxage=-1, stale-if-error=")

    assert parsed.max_stale is None
    assert (parsed.max_age, parsed.s_maxage, parsed.stale_if_error) == (0, 0, 0)


def test_quoted_pairs_are_undone():
    parsed = cache_control(b'private="x\\-a"')

    assert parsed.private_fields == (b"x-a",)


def test_targeted_field_members_map_to_directives():
    # RFC 9213 §2: "cache directives that have no value will be mapped to a Boolean", quoted-strings to Strings, tokens to Tokens or Integers
    parsed = parse_targeted([b'max-age=60, no-cache="x-a";p=1, must-revalidate, private=?0'])

    assert parsed == Directives(max_age=60, no_cache_fields=(b"x-a",), must_revalidate=True)


def test_targeted_field_repeated_key_last_wins():
    # RFC 8941 §4.2.2: "If dictionary already contains a key this_key ..., overwrite its value."
    parsed = parse_targeted([b"max-age=5", b"max-age=7"])

    assert parsed is not None
    assert parsed.max_age == 7


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"  ",
        b"max-age=",
        b"max-age=60,,",
        b"MAX-AGE=1",
        b'a="\\x"',
        b"a=1.2345",
        b"a=(1 2",
        b"\xff",
    ],
)
def test_an_invalid_targeted_field_is_none(value):
    # RFC 9213 §2.1: "If a targeted field in a given response is empty, or a parsing error is encountered, that field SHOULD be ignored"
    assert parse_targeted([value]) is None


def test_targeted_field_odd_but_valid_values():
    parsed = parse_targeted([b"max-age=1.5, stale-if-error=(1 2), x=:aGk=:, y=tok/en"])

    assert parsed is not None
    assert (parsed.max_age, parsed.stale_if_error) == (0, 0)


@pytest.mark.parametrize(
    "text",
    [
        b"Sun, 06 Nov 1994 08:49:37 GMT",
        b"Sunday, 06-Nov-94 08:49:37 GMT",
        b"Sun Nov  6 08:49:37 1994",
    ],
)
def test_the_three_http_date_formats(text):
    # RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an HTTP field MUST accept all three HTTP-date formats."
    assert parse_http_date(text) == SUNDAY


@pytest.mark.parametrize(
    "text",
    [
        b"0",
        b"-1",
        b"",
        b"Sun, 32 Nov 1994 08:49:37 GMT",
        b"Sun, 06 Foo 1994 08:49:37 GMT",
        b"Sun, 29 Feb 1900 00:00:00 GMT",
    ],
)
def test_non_dates_are_none(text):
    assert parse_http_date(text) is None


def test_dates_are_written_as_imf_fixdate():
    # RFC 9110 §5.6.7: "a sender MUST generate [IMF-fixdate]"
    assert format_http_date(SUNDAY) == b"Sun, 06 Nov 1994 08:49:37 GMT"

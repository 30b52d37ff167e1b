"""A request head's size limits: 414 for a long target, 431 for too many, too large or
too much header, each just past its limit and not at it."""

from __future__ import annotations

from millionscale.lb.head import Refusal, RequestHead, check_head, field_refusal, target_refusal
from millionscale.lb.limits import MAX_FIELDS, MAX_HEADER_BYTES, HttpLimits

LIMITS = HttpLimits(max_header_bytes=1000, max_target_bytes=200, max_field_bytes=300, max_fields=5)
HOST = (b"Host", b"a")  # 1 + 4 + 1 = 6 bytes of head


def _check(target: bytes, fields: list[tuple[bytes, bytes]]) -> RequestHead | Refusal:
    return check_head(b"GET", target, "1.1", fields, limits=LIMITS)


def test_a_target_at_the_limit_passes_and_one_byte_more_is_414():
    at = b"/" + b"a" * 199

    assert isinstance(_check(at, [HOST]), RequestHead)
    assert _check(at + b"a", [HOST]) == Refusal(414, "request target over 200 bytes")


def test_a_field_line_at_the_limit_passes_and_one_byte_more_is_431():
    at = (b"X", b"v" * (300 - 1 - 4))

    assert isinstance(_check(b"/", [HOST, at]), RequestHead)
    over = _check(b"/", [HOST, (b"X", at[1] + b"v")])
    assert over == Refusal(431, "a header field over 300 bytes")


def test_fields_up_to_the_limit_pass_and_one_more_is_431():
    fields = [HOST] + [(b"X-%d" % i, b"v") for i in range(4)]

    assert isinstance(_check(b"/", fields), RequestHead)
    assert _check(b"/", [*fields, (b"X-9", b"v")]) == Refusal(431, "over 5 header fields")


def test_a_head_over_its_limit_is_431_though_each_field_is_small():
    fields = [HOST] + [(b"X-%d" % i, b"v" * 240) for i in range(4)]  # 6 + 4 * 247 = 994
    head = 1 + sum(len(n) + len(v) + 4 for n, v in fields)

    assert head <= 1000
    assert isinstance(_check(b"/", fields), RequestHead)
    assert _check(b"/" + b"a" * 10, fields) == Refusal(431, "request head over 1000 bytes")


def test_sizes_are_checked_before_anything_else_as_the_bytes_arrive():
    # A long target with a bad version: the connection sees the target first.
    answer = check_head(b"GET", b"/" * 300, "2.0", [HOST], limits=LIMITS)

    assert answer == Refusal(414, "request target over 200 bytes")


def test_the_streaming_checks_give_the_same_refusals_as_the_core():
    assert target_refusal(200, LIMITS) is None
    assert target_refusal(201, LIMITS) == Refusal(414, "request target over 200 bytes")
    assert field_refusal(5, 300, 1000, LIMITS) is None
    assert field_refusal(6, 10, 100, LIMITS) == Refusal(431, "over 5 header fields")
    assert field_refusal(1, 301, 400, LIMITS) == Refusal(431, "a header field over 300 bytes")
    assert field_refusal(1, 10, 1001, LIMITS) == Refusal(431, "request head over 1000 bytes")


def test_the_defaults_are_haproxys_and_nginxs():
    limits = HttpLimits()

    assert (limits.max_header_bytes, limits.max_fields) == (MAX_HEADER_BYTES, MAX_FIELDS)
    assert (MAX_HEADER_BYTES, MAX_FIELDS) == (16 * 1024, 101)  # tune.bufsize, tune.http.maxhdr
    assert (limits.max_target_bytes, limits.max_field_bytes) == (8 * 1024, 8 * 1024)  # nginx

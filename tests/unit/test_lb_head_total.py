"""check_head is total: any parts give a RequestHead or a Refusal, never an exception, and
the same parts give the same answer; the raw block cut equals the block rebuilt."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from millionscale.lb.head import Refusal, RequestHead, check_head
from millionscale.lb.headers import FIELD_KINDS
from millionscale.lb.limits import HttpLimits

LIMITS = HttpLimits(max_header_bytes=2048, max_target_bytes=512, max_field_bytes=256, max_fields=12)
STATUSES = {400, 413, 414, 431, 501, 505}

# Names and values the rules look at, beside arbitrary bytes.
NAMES = [name.title() for name in FIELD_KINDS] + [b"Proxy-Authorization", b"X-A", b"Accept"]
VALUES = [
    b"chunked",
    b"gzip, chunked",
    b"close",
    b"keep-alive, X-A",
    b"Upgrade",
    b"100-continue",
    b"12",
    b"99999999999999999999",
    b"a b",
    b"example.com",
    b"",
]

name = st.one_of(st.sampled_from(NAMES), st.binary(max_size=20))
value = st.one_of(st.sampled_from(VALUES), st.binary(max_size=40))
fields = st.lists(st.tuples(name, value), max_size=14)
method = st.one_of(st.sampled_from([b"GET", b"POST", b"HEAD", b"CONNECT"]), st.binary(max_size=8))
target = st.one_of(st.sampled_from([b"/", b"/photos?id=1", b"*"]), st.binary(max_size=600))
version = st.one_of(st.sampled_from(["1.1", "1.0", "2.0", "0.9"]), st.text(max_size=4))


@given(method=method, target=target, version=version, fields=fields)
def test_any_head_gets_a_head_or_a_refusal_and_never_an_exception(method, target, version, fields):
    answer = check_head(method, target, version, fields, limits=LIMITS)

    assert isinstance(answer, RequestHead | Refusal)
    if isinstance(answer, Refusal):
        assert answer.status in STATUSES
        assert answer.reason
    else:
        assert answer.raw_method == method
        assert answer.target == target
        assert answer.headers == tuple(fields)
        assert answer.chunked is False or answer.content_length is None


@given(method=method, target=target, version=version, fields=fields)
def test_the_same_parts_give_the_same_answer(method, target, version, fields):
    first = check_head(method, target, version, fields, limits=LIMITS)

    assert check_head(method, target, version, list(fields), limits=LIMITS) == first


# Field values as llhttp hands them: no leading or trailing whitespace, no controls.
clean_value = st.one_of(
    st.sampled_from(VALUES[:-1]),
    st.binary(min_size=1, max_size=30).filter(
        lambda v: v.strip() == v and all(0x20 < b < 0x7F or b == 0x20 for b in v)
    ),
)


@given(fields=st.lists(st.tuples(st.sampled_from(NAMES), clean_value), min_size=1, max_size=10))
def test_the_block_cut_from_the_raw_lines_equals_the_block_rebuilt(fields):
    raw = b"".join(n + b": " + v + b"\r\n" for n, v in fields)

    rebuilt = check_head(b"GET", b"/", "1.1", fields, limits=LIMITS)
    cut = check_head(b"GET", b"/", "1.1", fields, limits=LIMITS, raw=raw)

    assert cut == rebuilt


@given(method=method, target=target, version=version, fields=fields)
def test_the_raw_lines_change_no_verdict_only_how_the_block_is_made(
    method, target, version, fields
):
    raw = b"".join(n + b": " + v + b"\r\n" for n, v in fields)

    without = check_head(method, target, version, fields, limits=LIMITS)
    given_raw = check_head(method, target, version, fields, limits=LIMITS, raw=raw)

    assert type(given_raw) is type(without)
    if isinstance(without, Refusal):
        assert given_raw == without

"""The rules never raise on any field content (shared/ARCHITECTURE.md rule 6: bad input
gets a clear answer, never a traceback): arbitrary bytes in every field, every status."""

from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.cdn.cachecontrol import Directives, parse_directives, parse_targeted
from millionscale.cdn.construct import response_fields
from millionscale.cdn.invalidation import invalidated_by
from millionscale.cdn.lookup import lookup
from millionscale.cdn.message import Request, Response, Stored
from millionscale.cdn.ranges import parse_range, range_applies
from millionscale.cdn.rules import RulesSettings
from millionscale.cdn.stale import usable_on_error
from millionscale.cdn.storable import to_store
from millionscale.cdn.validation import after_revalidation, client_not_modified

NAMES = st.sampled_from(
    [
        b"cache-control",
        b"cdn-cache-control",
        b"pragma",
        b"expires",
        b"date",
        b"age",
        b"last-modified",
        b"etag",
        b"vary",
        b"accept-encoding",
        b"content-length",
        b"content-range",
        b"transfer-encoding",
        b"connection",
        b"set-cookie",
        b"authorization",
        b"surrogate-key",
        b"host",
        b"location",
        b"content-location",
        b"if-none-match",
        b"if-modified-since",
        b"if-range",
        b"range",
    ]
) | st.binary(max_size=12)
FIELDS = st.lists(st.tuples(NAMES, st.binary(max_size=40)), max_size=8).map(tuple)
METHODS = st.sampled_from(["GET", "HEAD", "POST", "DELETE", "X"])
TIMES = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.binary(max_size=40), max_size=5))
def test_directive_parsers_never_raise(values):
    parsed = parse_directives(values)
    targeted = parse_targeted(values)

    assert isinstance(parsed, Directives)
    assert targeted is None or isinstance(targeted, Directives)


@settings(max_examples=300, deadline=None)
@given(value=st.none() | st.binary(max_size=30), size=st.integers(min_value=-1, max_value=10**6))
def test_parse_range_never_raises(value, size):
    result = parse_range(value, size)

    assert result is None or not isinstance(result, tuple) or 0 <= result[0] <= result[1] < size


@settings(max_examples=300, deadline=None)
@given(
    method=METHODS,
    target=st.binary(max_size=20),
    request_fields=FIELDS,
    status=st.integers(min_value=-5, max_value=1000),
    response_fields_=FIELDS,
    body=st.binary(max_size=20),
    sent=TIMES,
    took=st.floats(min_value=0, max_value=100),
    later=st.floats(min_value=0, max_value=1e6),
    second_fields=FIELDS,
)
def test_the_whole_path_never_raises(
    method, target, request_fields, status, response_fields_, body, sent, took, later, second_fields
):
    rules = RulesSettings(default_stale_if_error_s=10.0)
    client = Request(method=method, target=target, fields=request_fields)
    origin = Response(status=status, fields=response_fields_)
    now = sent + took + later

    made = to_store(
        client,
        origin,
        body,
        request_time=sent,
        response_time=sent + took,
        now=sent + took,
        settings=rules,
    )
    invalidated_by(client, origin)
    if isinstance(made, Stored):
        lookup(client, [made], now, settings=rules)
        lookup(
            Request(method="GET", target=target, fields=second_fields),
            [made, made],
            now,
            settings=rules,
        )
        usable_on_error(made, now, client)
        client_not_modified(client, made)
        if range_applies(client, made):
            parse_range(client.get(b"range"), len(made.body))
        response_fields(made, now)
        after_revalidation(
            made,
            Response(status=304, fields=second_fields),
            request_time=now,
            response_time=now,
            now=now,
            settings=rules,
        )
        assert made.freshness_lifetime >= 0
        assert made.corrected_initial_age >= 0
    else:
        assert made.reason

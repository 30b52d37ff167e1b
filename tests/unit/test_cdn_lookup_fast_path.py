"""The hit path's shortcut in :func:`lookup` decides as the full rules do.

A request with a Cache-Control the cache does not recognise ("A cache MUST
ignore unrecognized cache directives", RFC 9111 §5.2.3) takes the full path and
must get the same decision as the same request without it, which takes the
shortcut whenever it can.
"""

import dataclasses

from cdn_factories import DEFAULTS, NOW, request, response, stored
from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.cdn.lookup import Fresh, lookup

DIRECTIVES = st.sampled_from(
    [
        b"max-age=60",
        b"max-age=0",
        b"s-maxage=30",
        b"no-cache",
        b"max-age=60, stale-while-revalidate=30",
        b"max-age=60, must-revalidate",
        b"public",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    directive=DIRECTIVES,
    age=st.floats(min_value=0, max_value=200),
    later=st.floats(min_value=0, max_value=200),
    invalidated=st.booleans(),
    method=st.sampled_from(["GET", "HEAD"]),
)
def test_the_shortcut_agrees_with_the_full_rules(directive, age, later, invalidated, method):
    made = dataclasses.replace(
        stored(response((b"cache-control", directive), (b"age", str(int(age)).encode()))),
        invalidated=invalidated,
    )
    plain = request(method=method)
    slow = request((b"cache-control", b"x-unrecognised"), method=method)

    quick = lookup(plain, [made], NOW + later, settings=DEFAULTS)
    full = lookup(slow, [made], NOW + later, settings=DEFAULTS)

    assert quick == full


def test_a_fresh_single_variant_is_a_hit():
    made = stored(response((b"cache-control", b"max-age=60")))

    result = lookup(
        request((b"accept", b"*/*"), (b"user-agent", b"t")), [made], NOW + 1, settings=DEFAULTS
    )

    assert result == Fresh(made)

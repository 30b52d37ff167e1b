"""The balancer's private paths: /metrics however spelled is refused, the rest passes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.lb.paths import PrivatePaths, normalize

PRIVATE = PrivatePaths()


@pytest.mark.parametrize(
    "target",
    [
        b"/metrics",
        b"/metrics/",
        b"/metrics?format=json",
        b"/metrics#x",
        b"/METRICS",
        b"/Metrics",
        b"//metrics",
        b"/./metrics",
        b"/a/../metrics",
        b"/../metrics",
        b"/metrics;jsessionid=1",
        b"/%6detrics",
        b"/%6D%65%74%72%69%63%73",
        b"/%256detrics",  # encoded twice
        b"/%2fmetrics",
        b"\\metrics",
        b"/metrics/extra",
        b"http://example.com/metrics",
        b"HTTP://example.com:80/metrics?x",
    ],
)
def test_metrics_is_refused_however_it_is_spelled(target):
    assert PRIVATE.refuses(target)


@pytest.mark.parametrize(
    "target",
    [
        b"/",
        b"/api/timeline?limit=20",
        b"/metricsx",
        b"/u/metrics",
        b"/api/users/metrics",
        b"/static/app.css?metrics",
        b"/readyz",
        b"*",
        b"http://metrics/",
    ],
)
def test_other_paths_pass(target):
    assert not PRIVATE.refuses(target)


def test_several_private_paths_and_none():
    paths = PrivatePaths(["/metrics", "/internal/"])

    assert paths.refuses(b"/internal/debug")
    assert paths.refuses(b"/internal")
    assert not PrivatePaths([""]).refuses(b"/metrics")
    assert not PrivatePaths([]).refuses(b"/metrics")


def test_a_path_encoded_past_reason_is_refused():
    target = b"/%" + b"25" * 5 + b"6detrics"  # "m" percent-encoded six times over

    assert normalize(target) is None
    assert PRIVATE.refuses(target)


@given(st.binary(max_size=200))
def test_any_bytes_get_an_answer(target):
    assert PRIVATE.refuses(target) in (True, False)


PIECES = [
    "/",
    "//",
    "metrics",
    "METRICS",
    "etrics",
    "%6d",
    "%256d",
    "%2f",
    ".",
    "..",
    ";x",
    "?",
    "a",
]


@given(st.lists(st.sampled_from(PIECES), max_size=8))
def test_the_quick_look_never_lets_a_private_path_through(pieces):
    target = "".join(pieces).encode()
    full = normalize(target)
    private = full is None or full == b"/metrics" or full.startswith(b"/metrics/")

    assert PRIVATE.refuses(target) == private

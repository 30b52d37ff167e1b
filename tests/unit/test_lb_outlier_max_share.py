"""Outlier detection never ejects more than the maximum share (at least one, by default),
and never the last backend in rotation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.lb import Ejection, OutlierDetector, OutlierPolicy, Overflow


def failing(detector: OutlierDetector, backend: str, now: float) -> Ejection | Overflow | None:
    event = None
    for _ in range(5):
        event = detector.on_response(backend, 503, now)
    return event


def test_one_of_three_backends_may_be_ejected_but_not_two():
    detector = OutlierDetector(["web-1", "web-2", "web-3"])

    first = failing(detector, "web-1", 1000.0)
    second = failing(detector, "web-2", 1000.0)

    assert isinstance(first, Ejection)
    assert second == Overflow(
        "web-2",
        1000.0,
        "web-2 not ejected after 5 consecutive gateway errors, the last 503: "
        "1 of 3 backends already ejected, the most 10 % allows",
    )
    assert detector.ejected(1000.0) == {"web-1"}
    assert detector.statistics().overflows == 1


def test_without_always_eject_one_a_small_pool_ejects_nothing_as_envoy_since_1_28():
    detector = OutlierDetector(["web-1", "web-2", "web-3"], OutlierPolicy(always_eject_one=False))

    event = failing(detector, "web-1", 1000.0)

    assert isinstance(event, Overflow)


@pytest.mark.parametrize(("backends", "most"), [(2, 1), (3, 1), (9, 1), (10, 1), (20, 2), (35, 3)])
def test_the_most_ejected_at_once_is_ten_percent_and_at_least_one(backends, most):
    assert OutlierPolicy().max_ejected(backends) == most


def test_the_only_backend_is_never_ejected_and_a_pool_never_emptied():
    alone = OutlierDetector(["web-1"])

    event = failing(alone, "web-1", 1000.0)

    assert event == Overflow(
        "web-1",
        1000.0,
        "web-1 not ejected after 5 consecutive gateway errors, the last 503: "
        "it is the last backend in rotation, and a pool is never emptied",
    )
    assert alone.ejected(1000.0) == set()
    assert OutlierPolicy(max_ejection_percent=100).max_ejected(4) == 3


@given(
    pool=st.integers(1, 30),
    percent=st.integers(0, 100),
    always_one=st.booleans(),
    script=st.lists(
        st.tuples(st.integers(0, 29), st.sampled_from([200, 500, 502]), st.floats(0, 40))
    ),
)
def test_the_ejected_share_never_exceeds_the_maximum(pool, percent, always_one, script):
    names = [f"web-{i}" for i in range(pool)]
    policy = OutlierPolicy(
        consecutive_5xx=2,
        consecutive_gateway_failure=2,
        max_ejection_percent=percent,
        always_eject_one=always_one,
    )
    detector = OutlierDetector(names, policy)
    allowed = min(max(pool * percent // 100, 1 if always_one else 0), pool - 1)
    now = 0.0
    for index, status, pause in script:
        now += pause
        detector.on_response(names[index % pool], status, now)

        assert len(detector.ejected(now)) <= allowed

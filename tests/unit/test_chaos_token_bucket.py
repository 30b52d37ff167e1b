"""The token bucket grants bytes in order and never beyond burst + rate x time."""

import pytest
from chaos_factories import over_rate, schedule_settings
from hypothesis import given
from hypothesis import strategies as st

from millionscale.chaos import TokenBucket

reservations = st.lists(
    st.tuples(st.floats(0, 0.2, allow_nan=False), st.integers(1, 10_000)), max_size=60
)


def test_a_full_bucket_sends_its_burst_at_once():
    bucket = TokenBucket(1000, 500, now=10.0)

    assert bucket.reserve(500, 10.0) == 10.0


def test_a_shortfall_waits_for_the_tokens_it_lacks():
    bucket = TokenBucket(1000, 500, now=10.0)
    bucket.reserve(500, 10.0)

    assert bucket.reserve(250, 10.0) == pytest.approx(10.25)


def test_tokens_refill_at_the_rate_up_to_the_burst():
    bucket = TokenBucket(1000, 500, now=10.0)
    bucket.reserve(500, 10.0)

    assert bucket.tokens(10.1) == pytest.approx(100)
    assert bucket.tokens(99.0) == 500


def test_a_reservation_larger_than_the_burst_is_refused():
    bucket = TokenBucket(1000, 500, now=0.0)

    with pytest.raises(ValueError, match="1 to 500 bytes"):
        bucket.reserve(501, 0.0)


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (float("nan"), 10), (10, 0)])
def test_a_bucket_needs_a_positive_rate_and_burst(rate, burst):
    with pytest.raises(ValueError, match="must be"):
        TokenBucket(rate, burst, now=0.0)


@schedule_settings
@given(
    rate=st.floats(1, 1e6, allow_nan=False),
    burst=st.integers(10_000, 100_000),
    schedule=reservations,
)
def test_sends_are_in_order_never_early_and_within_the_cap(rate, burst, schedule):
    bucket = TokenBucket(rate, burst, now=0.0)
    now, sends = 0.0, []
    for gap, size in schedule:
        now += gap
        at = bucket.reserve(size, now)
        assert at >= now
        sends.append((at, size))

    times = [at for at, _ in sends]
    assert times == sorted(times)
    assert over_rate(sends, rate, burst) <= 0


def test_the_window_check_sees_a_burst_over_the_cap():
    sends = [(0.0, 600), (0.0, 600), (1.0, 100)]

    assert over_rate(sends, rate=100, burst=1000) > 0
    assert over_rate(sends, rate=100, burst=1200) <= 0

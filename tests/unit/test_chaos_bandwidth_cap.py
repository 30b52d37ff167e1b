"""A bandwidth-limited direction never sends faster than its rate, over any schedule."""

import pytest
from chaos_factories import line, over_rate, schedule_settings
from hypothesis import given
from hypothesis import strategies as st

from millionscale.chaos import MIN_BURST_BYTES, Link


@schedule_settings
@given(
    rate=st.floats(100, 1e7, allow_nan=False),
    latency=st.floats(0, 0.5, allow_nan=False),
    schedule=st.lists(
        st.tuples(st.floats(0, 0.5, allow_nan=False), st.integers(1, 20_000)), max_size=40
    ),
)
def test_bytes_in_any_window_stay_within_burst_plus_rate(rate, latency, schedule):
    link = Link(latency_s=latency, bytes_per_s=rate)
    delay_line = line(link)
    now, pieces = 1000.0, []
    for gap, size in schedule:
        now += gap
        pieces += delay_line.schedule(size, now)

    assert over_rate([(p.at, p.size) for p in pieces], rate, link.burst) <= 0


def test_a_long_transfer_takes_its_size_over_the_rate():
    delay_line = line(Link(bytes_per_s=100_000))

    pieces = [p for i in range(20) for p in delay_line.schedule(50_000, 1000.0 + i * 0.001)]

    elapsed = pieces[-1].at - 1000.0
    assert elapsed == pytest.approx((1_000_000 - delay_line.link.burst) / 100_000, rel=0.01)


def test_the_default_burst_is_ten_milliseconds_of_rate_but_at_least_a_frame():
    assert Link(bytes_per_s=10_000_000).burst == 100_000
    assert Link(bytes_per_s=1_000).burst == MIN_BURST_BYTES
    assert Link(bytes_per_s=1_000, burst_bytes=64).burst == 64


def test_a_new_rate_applies_to_chunks_read_after_the_change():
    delay_line = line(Link(bytes_per_s=1_000, burst_bytes=1_000))
    delay_line.schedule(1_000, 1000.0)
    delay_line.change(Link(), 1000.0)

    (piece,) = delay_line.schedule(50_000, 1000.0)

    assert piece.at == 1000.0  # no limit any more, and nothing before it waits

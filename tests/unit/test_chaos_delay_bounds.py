"""Each chunk's delay is latency plus jitter within its bound, plus a stall when "lost"."""

import random
import statistics

import pytest
from chaos_factories import line, schedule_settings, schedules
from hypothesis import given
from hypothesis import strategies as st

from millionscale.chaos import Jitter, Link, draw_delay

jittery = st.builds(
    Link,
    latency_s=st.floats(0, 1, allow_nan=False),
    jitter_s=st.floats(0, 1, allow_nan=False),
    jitter=st.sampled_from(list(Jitter)),
)


@schedule_settings
@given(link=jittery, seed=st.integers(0, 2**32))
def test_a_draw_stays_within_latency_plus_or_minus_jitter_and_above_zero(link, seed):
    rng = random.Random(seed)

    for _ in range(50):
        delay = draw_delay(link, rng)
        assert max(0.0, link.latency_s - link.jitter_s) <= delay <= link.latency_s + link.jitter_s


@schedule_settings
@given(link=jittery, schedule=schedules, seed=st.integers(0, 2**32))
def test_without_a_rate_or_stalls_a_chunk_leaves_within_its_delay_bounds(link, schedule, seed):
    delay_line = line(link, seed=seed)
    now, last = 1000.0, 1000.0
    for gap, size in schedule:
        now += gap
        (piece,) = delay_line.schedule(size, now)

        assert piece.at >= now + link.min_delay_s
        assert piece.at <= max(last, now + link.max_delay_s)
        last = piece.at


@pytest.mark.parametrize("jitter", list(Jitter))
def test_jitter_centres_on_the_latency(jitter):
    rng = random.Random(7)
    link = Link(latency_s=0.05, jitter_s=0.01, jitter=jitter)

    delays = [draw_delay(link, rng) for _ in range(4000)]

    assert statistics.mean(delays) == pytest.approx(0.05, abs=0.001)


def test_normal_jitter_gathers_near_the_latency_and_uniform_does_not():
    rng = random.Random(7)
    normal = Link(latency_s=0.05, jitter_s=0.03, jitter=Jitter.NORMAL)
    uniform = Link(latency_s=0.05, jitter_s=0.03, jitter=Jitter.UNIFORM)

    near = [
        sum(abs(draw_delay(link, rng) - 0.05) < 0.01 for _ in range(4000)) / 4000
        for link in (normal, uniform)
    ]

    assert near[0] > 0.6  # within one sigma (0.01 s): 68 % of a normal
    assert near[1] == pytest.approx(1 / 3, abs=0.04)  # a third of a uniform's width


@schedule_settings
@given(schedule=schedules, seed=st.integers(0, 2**32))
def test_a_lost_chunk_is_held_a_retransmission_timeout_longer(schedule, seed):
    link = Link(latency_s=0.01, stall_probability=1.0, stall_s=0.2)
    delay_line = line(link, seed=seed)
    now = 1000.0
    for gap, size in schedule:
        now += gap
        (piece,) = delay_line.schedule(size, now)

        assert piece.stalled
        assert piece.at >= now + 0.21


def test_stalls_hit_about_their_probability_of_chunks():
    delay_line = line(Link(stall_probability=0.1), seed=3)

    stalled = sum(delay_line.schedule(100, 1000.0 + i)[0].stalled for i in range(5000))

    assert stalled / 5000 == pytest.approx(0.1, abs=0.015)

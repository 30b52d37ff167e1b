"""Freshness of an L2 value: fresh, refreshed early by XFetch's coin, or stale in its window."""

import math
import random

import pytest

from millionscale.cache.refresh import Freshness, freshness


def always(u: float):
    return lambda: u


def test_a_value_with_a_stale_window_is_stale_once_its_fresh_life_is_over():
    assert freshness(ttl_ms=900, stale_ms=1000, load_ms=10, random=always(0.5)) is Freshness.STALE


def test_a_value_far_from_expiry_is_fresh_even_on_an_unlucky_draw():
    # delta * beta * -ln(1 - 0.999) = 10 ms * 6.9 = 69 ms < 50 s left
    state = freshness(ttl_ms=51_000, stale_ms=1000, load_ms=10, random=always(0.999))

    assert state is Freshness.FRESH


def test_near_expiry_a_draw_past_exp_minus_r_over_delta_refreshes_early():
    # 100 ms left, loads take 100 ms: refresh when -ln(1-u) >= 1, i.e. u >= 1 - 1/e
    threshold = 1 - math.exp(-1)
    kwargs = {"ttl_ms": 1100, "stale_ms": 1000, "load_ms": 100}

    assert freshness(**kwargs, random=always(threshold - 0.01)) is Freshness.FRESH
    assert freshness(**kwargs, random=always(threshold + 0.01)) is Freshness.EARLY


@pytest.mark.parametrize("remaining_ms", [50, 200, 400])
def test_the_early_refresh_rate_is_exp_of_minus_remaining_over_delta_beta(remaining_ms):
    draw = random.Random(7).random
    trials = 20_000

    early = sum(
        freshness(ttl_ms=remaining_ms, stale_ms=0, load_ms=100, beta=2.0, random=draw)
        is Freshness.EARLY
        for _ in range(trials)
    )

    assert early / trials == pytest.approx(math.exp(-remaining_ms / 200), abs=0.015)


def test_beta_zero_or_an_unknown_load_time_turns_early_refresh_off():
    assert (
        freshness(ttl_ms=2, stale_ms=0, load_ms=100, beta=0, random=always(0.99)) is Freshness.FRESH
    )
    assert freshness(ttl_ms=2, stale_ms=0, load_ms=0, random=always(0.99)) is Freshness.FRESH


def test_a_key_without_expiry_is_fresh():
    assert freshness(ttl_ms=-1, stale_ms=1000, load_ms=5, random=always(0.99)) is Freshness.FRESH


def test_a_draw_of_zero_does_not_take_the_log_of_zero():
    assert freshness(ttl_ms=5000, stale_ms=0, load_ms=1, random=always(0.0)) is Freshness.FRESH

"""The peak-EWMA latency estimate: up at once on a slow response, down over the decay time."""

import math

import pytest

from millionscale.lb import EWMA_DECAY_S, EWMA_DEFAULT_RTT_S, Ewma
from millionscale.testing import FakeClock


def test_an_unmeasured_backend_is_assumed_at_linkerds_default_rtt():
    clock = FakeClock()

    ewma = Ewma(now=clock.now())

    assert ewma.value(clock.now()) == EWMA_DEFAULT_RTT_S == 0.030
    assert ewma.samples == 0


def test_a_slower_response_replaces_the_estimate_at_once():
    clock = FakeClock()
    ewma = Ewma(now=clock.now(), initial_s=0.010)
    clock.jump(0.001)

    ewma.observe(0.250, clock.now())

    assert ewma.value(clock.now()) == 0.250


def test_a_faster_response_counts_by_the_time_since_the_last_one():
    clock = FakeClock()
    ewma = Ewma(now=clock.now(), initial_s=0.100)
    clock.jump(EWMA_DECAY_S)

    ewma.observe(0.010, clock.now())

    kept = math.exp(-1)
    assert ewma.value(clock.now()) == pytest.approx(0.100 * kept + 0.010 * (1 - kept))


def test_faster_responses_in_quick_succession_barely_move_it():
    clock = FakeClock()
    ewma = Ewma(now=clock.now(), initial_s=0.100)

    for _ in range(10):
        clock.jump(0.001)
        ewma.observe(0.010, clock.now())

    assert ewma.value(clock.now()) == pytest.approx(0.100, rel=0.01)


def test_while_no_response_comes_the_estimate_decays_towards_zero():
    clock = FakeClock()
    ewma = Ewma(now=clock.now())
    ewma.observe(0.200, clock.now())

    clock.jump(ewma.half_life_s)

    assert ewma.value(clock.now()) == pytest.approx(0.100)


def test_reading_the_estimate_does_not_change_it():
    clock = FakeClock()
    ewma = Ewma(now=clock.now())
    ewma.observe(0.200, clock.now())
    clock.jump(5.0)

    first, second = ewma.value(clock.now()), ewma.value(clock.now())

    assert first == second


def test_the_half_life_of_a_ten_second_decay_is_about_seven_seconds():
    assert Ewma(now=0.0).half_life_s == pytest.approx(6.93, abs=0.01)


def test_a_negative_latency_is_refused():
    with pytest.raises(ValueError, match="not negative"):
        Ewma(now=0.0).observe(-0.001, 1.0)

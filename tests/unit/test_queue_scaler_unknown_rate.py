"""Without a measured rate (None, zero, negative, not finite) the age decides alone, and
nothing divides by zero."""

import math

import pytest
from queue_scaler_factories import QUIET, scaler, status

from millionscale.queue import Hold, Scale

UNKNOWN = [None, 0.0, -1.0, math.nan, math.inf]


@pytest.mark.parametrize("rate", UNKNOWN)
def test_a_deep_queue_of_young_jobs_holds_without_a_rate(rate):
    core, clock = scaler()

    decision = core.step(clock(), status(ready=10_000, age=3.0), workers=2, rate=rate)

    assert decision == Hold("holding 2 workers: the oldest job waited 3.0 s, within the 5 s target")


@pytest.mark.parametrize("rate", UNKNOWN)
def test_an_old_job_scales_up_without_a_rate(rate):
    core, clock = scaler()

    decision = core.step(clock(), status(ready=3, age=10.0), workers=2, rate=rate)

    assert decision == Scale(4, "2 → 4 workers: the oldest job waited 10.0 s, over the 5 s target")


@pytest.mark.parametrize("rate", UNKNOWN)
def test_an_empty_queue_is_quiet_without_a_rate(rate):
    core, clock = scaler(stabilisation_s=0.0)

    decision = core.step(clock(), QUIET, workers=2, rate=rate)

    assert decision == Scale(1, "2 → 1 worker: no job is waiting, quiet for 0.0 s")


def test_with_zero_workers_and_a_rate_it_goes_to_the_minimum_first():
    core, clock = scaler(min_workers=1)

    decision = core.step(clock(), status(ready=100, age=1.0), workers=0, rate=2.0)

    assert decision == Scale(1, "0 → 1 worker: under the minimum of 1")

"""The retry policy: exponential backoff with jitter, capped, and dead letters once
a job has used its deliveries (or arrives past them, its worker having died)."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.errors import ConfigError
from millionscale.queue import DeadLetter, Retry, RetryPolicy


def test_backoff_doubles_from_the_base_up_to_the_cap_without_jitter():
    policy = RetryPolicy(base_s=1.0, factor=2.0, max_backoff_s=10.0, jitter=False)

    assert [policy.backoff_s(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=2**32))
def test_jittered_backoff_stays_between_half_and_all_of_its_ceiling(delivery, seed):
    policy = RetryPolicy()
    ceiling = RetryPolicy(jitter=False).backoff_s(delivery)

    wait = policy.backoff_s(delivery, random.Random(seed))

    assert ceiling / 2 <= wait <= ceiling


def test_a_failure_before_the_last_delivery_is_retried_with_a_sentence():
    decision = RetryPolicy(max_deliveries=3, jitter=False).after_failure(1, "ValueError: no")

    assert decision == Retry(1.0, "delivery 1 of 3 failed, retrying in 1.0 s: ValueError: no")


def test_the_last_delivery_failing_is_a_dead_letter_with_the_error():
    decision = RetryPolicy(max_deliveries=3).after_failure(3, "ValueError: no")

    assert decision == DeadLetter("failed 3 of 3 deliveries: ValueError: no")


def test_a_delivery_past_the_maximum_is_dead_lettered_before_it_runs():
    policy = RetryPolicy(max_deliveries=3)

    assert policy.overdue(3) is None
    overdue = policy.overdue(4)
    assert overdue is not None
    assert overdue.reason.startswith("delivered 4 times, over the 3 allowed")


@pytest.mark.parametrize(
    "options",
    [{"max_deliveries": 0}, {"base_s": 0}, {"base_s": 20, "max_backoff_s": 10}, {"factor": 0.5}],
)
def test_nonsense_settings_are_refused(options):
    with pytest.raises(ConfigError):
        RetryPolicy(**options)

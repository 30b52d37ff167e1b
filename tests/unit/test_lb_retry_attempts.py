"""At most three attempts; each retry excludes every backend tried so far."""

import random

from millionscale.lb import (
    BackendView,
    GiveUp,
    Pick,
    PowerOfTwoChoices,
    Retries,
    Retry,
    RetryPolicy,
)

NOW = 1000.0


def test_a_third_failure_is_final():
    decision = Retries().decide("GET", 503, tried=["web-1", "web-2", "web-3"], now=NOW)

    assert decision == GiveUp("503 from web-3; 3 attempts made, the most allowed")


def test_a_retry_excludes_every_backend_tried():
    decision = Retries().decide("GET", 502, tried=["web-1", "web-2"], now=NOW)

    assert decision == Retry(
        frozenset({"web-1", "web-2"}), "502 from web-2; retrying (attempt 3 of 3)"
    )


def test_the_next_pick_avoids_the_failed_backend_while_another_is_eligible():
    views = [BackendView("web-1", latency_s=0.001), BackendView("web-2", latency_s=0.5)]
    decision = Retries().decide("GET", 503, tried=["web-1"], now=NOW)
    assert isinstance(decision, Retry)

    pick = PowerOfTwoChoices(random.Random(0)).pick(views, exclude=decision.exclude)

    assert pick == Pick("web-2", "web-2 is the only candidate")


def test_one_attempt_means_never_retry():
    retries = Retries(RetryPolicy(max_attempts=1))

    decision = retries.decide("GET", 503, tried=["web-1"], now=NOW)

    assert isinstance(decision, GiveUp)
    assert retries.statistics().exhausted == 1

"""The retry budget: 20 % of the requests of the last 10 s, plus 10 retries per second."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.lb import GiveUp, Retries, RetryBudget
from millionscale.testing import FakeClock


def test_with_no_traffic_the_reserve_allows_ten_retries_a_second_over_the_window():
    budget = RetryBudget()

    granted = sum(budget.try_withdraw(1000.0) for _ in range(150))

    assert granted == 100


def test_each_request_adds_a_fifth_of_a_retry():
    clock = FakeClock()
    budget = RetryBudget(min_per_s=0)
    for _ in range(50):
        budget.record_request(clock.now())

    granted = sum(budget.try_withdraw(clock.now()) for _ in range(20))

    assert granted == 10


def test_spent_retries_come_back_when_the_window_has_passed():
    clock = FakeClock()
    budget = RetryBudget()
    while budget.try_withdraw(clock.now()):
        pass

    clock.jump(10.0)

    assert budget.balance(clock.now()) == pytest.approx(100.0)


def test_a_failure_over_budget_is_given_up_and_counted():
    clock = FakeClock()
    retries = Retries(budget=RetryBudget(min_per_s=0))

    decision = retries.decide("GET", 503, tried=["web-1"], now=clock.now())

    assert decision == GiveUp("503 from web-1; the retry budget is spent")
    assert retries.statistics().over_budget == 1


def spend(requests_per_second: list[int], retries_wanted: int) -> list[int]:
    """Each second, record its requests, then ask for ``retries_wanted`` retries; the
    retries granted each second (reserve 1/s over 10 s: 10; a fifth of each request)."""
    budget = RetryBudget(percent=0.2, min_per_s=1, ttl_s=10.0)
    granted = []
    for second, requests in enumerate(requests_per_second):
        for _ in range(requests):
            budget.record_request(float(second))
        granted.append(sum(budget.try_withdraw(float(second)) for _ in range(retries_wanted)))
    return granted


traffic = st.lists(st.integers(0, 200), min_size=1, max_size=60)


@given(requests=traffic, retries_wanted=st.integers(0, 300))
def test_when_a_retry_is_granted_the_last_ten_seconds_are_within_the_budget(
    requests, retries_wanted
):
    granted = spend(requests, retries_wanted)

    for end in (s for s, g in enumerate(granted) if g):
        window = range(max(0, end - 9), end + 1)
        assert sum(granted[s] for s in window) <= 10 + 0.2 * sum(requests[s] for s in window) + 1e-9


@given(requests=traffic, retries_wanted=st.integers(0, 300))
def test_any_ten_seconds_hold_at_most_the_reserve_and_a_fifth_of_twenty_seconds_requests(
    requests, retries_wanted
):
    granted = spend(requests, retries_wanted)

    for start in range(len(granted)):
        window = range(start, min(start + 10, len(granted)))
        earlier = range(max(0, start - 9), window.stop)
        assert (
            sum(granted[s] for s in window) <= 10 + 0.2 * sum(requests[s] for s in earlier) + 1e-9
        )

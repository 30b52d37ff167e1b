"""The sliding window decides from a clock reading and two slot counts, purely."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.web.throttle import Allowed, Refused, SlidingWindow

WINDOW = SlidingWindow(limit=10, window_s=600.0)


def test_up_to_the_limit_in_one_slot_is_allowed():
    assert isinstance(WINDOW.decide(0.0, previous=0, current=10), Allowed)


def test_one_over_the_limit_is_refused():
    assert isinstance(WINDOW.decide(0.0, previous=0, current=11), Refused)


def test_the_previous_slot_counts_for_the_part_of_it_still_in_the_window():
    # 60 s into a slot, 90 % of the previous slot is still inside the window.
    assert WINDOW.estimate(60.0, previous=10, current=1) == pytest.approx(10.0)
    assert isinstance(WINDOW.decide(60.0, previous=10, current=1), Allowed)
    assert isinstance(WINDOW.decide(60.0, previous=10, current=2), Refused)


def test_a_burst_at_a_slot_boundary_does_not_pass_twice_the_limit():
    assert isinstance(WINDOW.decide(600.001, previous=10, current=1), Refused)


def test_a_refusal_says_how_long_to_wait():
    # 11 in this slot, none before; taken back, 10 carry into the next slot.
    refused = WINDOW.decide(0.0, previous=0, current=11)

    assert isinstance(refused, Refused)
    # Next slot: 10 * (1 - f) + 1 <= 10 once f >= 0.1, i.e. 60 s into it.
    assert refused.retry_after_s == pytest.approx(660.0)
    assert refused.retry_after == 660


def test_retry_after_is_never_zero():
    assert Refused(estimate=11, retry_after_s=0.01).retry_after == 1


@pytest.mark.parametrize(("limit", "window_s"), [(0, 60.0), (5, 0.0), (5, -1.0), (5, float("inf"))])
def test_a_window_that_cannot_hold_is_refused(limit, window_s):
    with pytest.raises(ValueError, match="sliding window"):
        SlidingWindow(limit, window_s)


def _evolved(window: SlidingWindow, now: float, later: float, previous: int, current: int):
    """The counts at ``later`` if the refused attempt is taken back and one new one is made."""
    gap = window.slot(later) - window.slot(now)
    if gap == 0:
        return previous, current
    if gap == 1:
        return current - 1, 1
    return 0, 1


@given(
    limit=st.integers(1, 50),
    window_s=st.floats(1.0, 3600.0),
    now=st.floats(0.0, 1e6),
    previous=st.integers(0, 200),
    current=st.integers(1, 200),
)
def test_the_wait_is_exactly_until_an_attempt_would_pass(limit, window_s, now, previous, current):
    window = SlidingWindow(limit, window_s)
    decision = window.decide(now, previous, current)
    if isinstance(decision, Allowed):
        return
    at = now + decision.retry_after_s
    eps = 1e-6 * window_s

    after = window.decide(at + eps, *_evolved(window, now, at + eps, previous, current))
    before = at - eps
    assert decision.retry_after_s > 0
    assert isinstance(after, Allowed)
    if before > now:
        assert isinstance(
            window.decide(before, *_evolved(window, now, before, previous, current)), Refused
        )

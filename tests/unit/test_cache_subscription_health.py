"""The subscription's health: a ping every interval, lost when its answer is late."""

import pytest

from millionscale.cache.subscription import SubscriptionHealth
from millionscale.testing import FakeClock


def health(clock: FakeClock) -> SubscriptionHealth:
    subject = SubscriptionHealth(ping_interval_s=0.5, pong_timeout_s=0.25)
    subject.subscribed(clock())
    return subject


def test_a_ping_is_due_one_interval_after_subscribing():
    clock = FakeClock()
    subject = health(clock)

    early = subject.ping_due(clock())
    wait = subject.next_check(clock())
    clock.jump(0.5)

    assert (early, wait) == (False, 0.5)
    assert subject.ping_due(clock())


def test_an_answered_ping_keeps_it_up():
    clock = FakeClock()
    subject = health(clock)
    clock.jump(0.5)
    subject.pinged(clock())
    clock.jump(0.01)
    subject.ponged(clock())
    clock.jump(0.3)

    assert subject.overdue(clock()) is None
    assert subject.up


def test_a_ping_unanswered_past_the_timeout_is_overdue():
    clock = FakeClock()
    subject = health(clock)
    clock.jump(0.5)
    subject.pinged(clock())

    wait = subject.next_check(clock())
    clock.jump(0.26)

    assert wait == 0.25
    assert subject.overdue(clock()) == "no answer to a ping for 0.26 s"
    assert not subject.ping_due(clock())  # no second ping while one is out


def test_losing_it_says_what_follows_and_counts_once():
    clock = FakeClock()
    subject = health(clock)

    sentence = subject.lost("Connection closed by server.")
    subject.lost("Connection refused")

    assert sentence == (
        "invalidations may be missed (Connection closed by server.); "
        "L1 cleared and unused until subscribed"
    )
    assert subject.statistics().lost == 1
    assert not subject.up


def test_the_bound_on_a_lost_message_is_interval_plus_timeout():
    assert health(FakeClock()).bound_s == 0.75


@pytest.mark.parametrize("knobs", [{"ping_interval_s": 0}, {"pong_timeout_s": float("inf")}])
def test_times_must_be_positive_and_finite(knobs):
    with pytest.raises(ValueError, match="must be a positive number"):
        SubscriptionHealth(**knobs)

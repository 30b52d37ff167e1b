"""An outage: one sentence when it starts and one when it ends; waits double up to a cap."""

import pytest

from millionscale.errors import ConfigError
from millionscale.queue.outage import Outage
from millionscale.testing import FakeClock


def test_the_first_failure_begins_an_outage_with_a_sentence():
    clock = FakeClock()
    outage = Outage("the broker", retry_s=0.1, max_retry_s=1.0)

    sentence = outage.failed("connection refused", clock())

    assert sentence == "the broker failed (connection refused); retrying with backoff up to 1 s"
    assert not outage.up
    assert outage.wait_s() == 0.1


def test_later_failures_of_one_outage_say_nothing_and_double_the_wait_up_to_the_cap():
    clock = FakeClock()
    outage = Outage("the broker", retry_s=0.1, max_retry_s=0.5)
    outage.failed("refused", clock())

    sentences = [outage.failed("refused", clock()) for _ in range(4)]

    assert sentences == [None, None, None, None]
    assert outage.wait_s() == 0.5
    assert outage.failures == 5


def test_waits_grow_by_doubling():
    clock = FakeClock()
    outage = Outage("the broker", retry_s=0.1, max_retry_s=10.0)
    waits = []
    for _ in range(4):
        outage.failed("refused", clock())
        waits.append(outage.wait_s())

    assert waits == pytest.approx([0.1, 0.2, 0.4, 0.8])


def test_the_success_that_ends_an_outage_says_how_long_and_how_many_tries():
    clock = FakeClock()
    outage = Outage("the broker")
    outage.failed("refused", clock())
    clock.jump(2.5)
    outage.failed("refused", clock())
    outage.failed("refused", clock())

    sentence = outage.recovered(clock())

    assert sentence == "the broker is back after 2.5 s and 3 failed tries"
    assert outage.up
    assert outage.wait_s() == 0.0


def test_a_success_while_up_says_nothing():
    outage = Outage("the broker")

    assert outage.recovered(0.0) is None
    assert outage.up


def test_a_new_outage_starts_from_the_first_wait_and_speaks_again():
    clock = FakeClock()
    outage = Outage("the broker", retry_s=0.1, max_retry_s=1.0)
    for _ in range(5):
        outage.failed("refused", clock())
    outage.recovered(clock())

    sentence = outage.failed("timed out", clock())

    assert sentence is not None
    assert sentence.startswith("the broker failed (timed out)")
    assert outage.wait_s() == 0.1
    assert outage.failures == 1


def test_one_failed_try_is_said_in_the_singular():
    outage = Outage("the broker")
    outage.failed("refused", 0.0)

    assert outage.recovered(1.0) == "the broker is back after 1.0 s and 1 failed try"


@pytest.mark.parametrize(("retry_s", "max_retry_s"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_waits_that_cannot_back_off_are_refused(retry_s, max_retry_s):
    with pytest.raises(ConfigError, match="retry_s"):
        Outage("the broker", retry_s=retry_s, max_retry_s=max_retry_s)

"""The circuit breaker: one failure skips Redis for a backoff, one probe, then closed again."""

from millionscale.cache.breaker import BreakerState, CircuitBreaker
from millionscale.testing import FakeClock


def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(clock=clock, backoff_s=0.5, max_backoff_s=2.0)


def test_one_failure_opens_it_and_calls_are_skipped_for_the_backoff():
    clock = FakeClock()
    subject = breaker(clock)

    sentence = subject.failed("Connection refused")
    clock.jump(0.49)

    assert sentence == "redis failed (Connection refused); skipping it for 0.5 s"
    assert subject.allow() is False
    assert subject.statistics().skipped == 1


def test_after_the_backoff_one_probe_goes_and_its_success_closes_it():
    clock = FakeClock()
    subject = breaker(clock)
    subject.failed("timeout")
    clock.jump(0.5)

    probe, other = subject.allow(), subject.allow()
    sentence = subject.succeeded()

    assert (probe, other) == (True, False)
    assert sentence == "redis answered again; using it"
    assert subject.state is BreakerState.CLOSED
    assert subject.allow() is True


def test_each_failed_probe_doubles_the_backoff_up_to_the_maximum():
    clock = FakeClock()
    subject = breaker(clock)
    subject.failed("down")

    pauses = []
    for _ in range(4):
        clock.jump(subject.statistics().backoff_s)
        assert subject.allow()
        pauses.append(subject.failed("down"))

    assert pauses == [
        "redis failed (down); skipping it for 1 s",
        "redis failed (down); skipping it for 2 s",
        "redis failed (down); skipping it for 2 s",
        "redis failed (down); skipping it for 2 s",
    ]


def test_success_resets_the_backoff():
    clock = FakeClock()
    subject = breaker(clock)
    subject.failed("down")
    clock.jump(0.5)
    subject.allow()
    subject.failed("down")  # 1 s now
    clock.jump(1.0)
    subject.allow()
    subject.succeeded()

    assert subject.failed("down") == "redis failed (down); skipping it for 0.5 s"
    assert subject.statistics().opened == 2


def test_a_probe_that_never_reports_frees_its_slot_after_a_backoff():
    clock = FakeClock()
    subject = breaker(clock)
    subject.failed("down")
    clock.jump(0.5)
    assert subject.allow()  # the probe's task is cancelled and never reports

    clock.jump(0.5)

    assert subject.allow() is True


def test_failures_of_calls_begun_before_it_opened_change_nothing():
    clock = FakeClock()
    subject = breaker(clock)
    subject.failed("down")

    assert subject.failed("down too") is None
    assert subject.statistics().backoff_s == 0.5


def test_success_while_closed_says_nothing():
    assert breaker(FakeClock()).succeeded() is None

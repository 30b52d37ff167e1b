"""A writer's queued invalidations: bounded, never forgetting one queued again while in flight."""

import pytest

from millionscale.cache.invalidation import PendingInvalidations


def test_keys_wait_in_order_until_sent():
    pending = PendingInvalidations(max_keys=10)
    pending.add(["a", "b"])
    pending.add(["c"])

    batch = pending.batch(2)
    pending.sent(batch)

    assert list(batch) == ["a", "b"]
    assert list(pending.batch(10)) == ["c"]
    assert "c" in pending
    assert "a" not in pending


def test_a_key_queued_again_while_its_invalidation_was_in_flight_stays_queued():
    pending = PendingInvalidations(max_keys=10)
    pending.add(["a"])
    in_flight = pending.batch(10)

    pending.add(["a"])  # a second write committed after the script ran
    pending.sent(in_flight)

    assert "a" in pending


def test_overflow_drops_the_keys_and_says_everything_is_suspect():
    pending = PendingInvalidations(max_keys=2)

    accepted = [pending.add([key]) for key in "abc"]

    assert accepted == [True, True, False]
    assert pending.overflowed
    assert len(pending) == 0
    assert "anything" in pending
    assert bool(pending)


def test_a_generation_bump_clears_an_overflowed_queue():
    pending = PendingInvalidations(max_keys=1)
    pending.add(["a", "b"])
    mark = pending.mark()

    assert pending.reset(mark)
    assert not pending
    assert not pending.overflowed


def test_a_bump_does_not_clear_what_was_queued_after_it_was_sent():
    pending = PendingInvalidations(max_keys=1)
    pending.add(["a", "b"])
    mark = pending.mark()
    pending.add(["c"])

    assert not pending.reset(mark)
    assert pending.overflowed


def test_the_bound_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        PendingInvalidations(max_keys=0)

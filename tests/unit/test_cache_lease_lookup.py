"""One read through the shared tier, reply by reply: serve, load under the lease, wait, give up."""

import pytest

from millionscale.cache.envelope import Envelope
from millionscale.cache.leases import (
    MAX_MOVES,
    Corrupt,
    DropCorrupt,
    Found,
    Granted,
    Held,
    LeasePolicy,
    Load,
    LoadUncached,
    Lookup,
    Moved,
    NotFound,
    ReadAgain,
    Serve,
    UnexpectedReply,
    Wait,
    parse_read_reply,
)
from millionscale.cache.refresh import Freshness
from millionscale.testing import FakeClock


def lookup(clock: FakeClock, **policy) -> Lookup:
    return Lookup(LeasePolicy(**policy), clock(), lambda: 0.5, key="user:1")


def test_a_miss_that_took_the_lease_loads():
    clock = FakeClock()

    action = lookup(clock).next(Granted(), clock())

    assert action == Load("took the lease on user:1; loading")


def test_a_found_value_is_served_with_its_freshness():
    clock = FakeClock()
    envelope = Envelope(b"1", load_ms=5, stale_ms=1000)

    fresh = lookup(clock).next(Found(envelope, ttl_ms=30_000), clock())
    stale = lookup(clock).next(Found(envelope, ttl_ms=400), clock())

    assert isinstance(fresh, Serve)
    assert (fresh.freshness, fresh.fresh_s) == (Freshness.FRESH, 29.0)
    assert isinstance(stale, Serve)
    assert (stale.freshness, stale.fresh_s) == (Freshness.STALE, 0.0)


def test_a_held_lease_is_polled_at_doubling_intervals_up_to_the_cap():
    clock = FakeClock()
    read = lookup(clock, first_poll_s=0.002, max_poll_s=0.01, wait_s=5.0)

    delays = []
    for _ in range(6):
        action = read.next(Held(ttl_ms=800), clock())
        assert isinstance(action, Wait)
        delays.append(action.delay_s)
        clock.jump(action.delay_s)

    assert delays == [0.002, 0.004, 0.008, 0.01, 0.01, 0.01]
    assert read.waits == 6


def test_a_reader_that_waited_its_budget_loads_without_caching():
    clock = FakeClock()
    read = lookup(clock, wait_s=0.1)
    read.next(Held(ttl_ms=900), clock())
    clock.jump(0.1)

    action = read.next(Held(ttl_ms=800), clock())

    assert action == LoadUncached(
        "waited 0.100 s for the lease holder of user:1; loading without caching"
    )


def test_the_last_wait_is_cut_to_the_budget_left():
    clock = FakeClock()
    read = lookup(clock, wait_s=0.05, first_poll_s=0.04, max_poll_s=0.04)
    read.next(Held(ttl_ms=900), clock())
    clock.jump(0.04)

    action = read.next(Held(ttl_ms=900), clock())

    assert isinstance(action, Wait)
    assert action.delay_s == pytest.approx(0.01)


def test_a_moved_generation_is_followed_a_few_times_then_given_up():
    clock = FakeClock()
    read = lookup(clock)

    actions = [read.next(Moved(generation=n), clock()) for n in range(1, MAX_MOVES + 2)]

    assert all(isinstance(action, ReadAgain) for action in actions[:MAX_MOVES])
    assert actions[0] == ReadAgain(1, "generation is 1 now; reading again")
    assert isinstance(actions[-1], LoadUncached)


def test_a_corrupt_value_is_dropped_once_then_loaded_around():
    clock = FakeClock()
    read = lookup(clock)

    first = read.next(Corrupt(b"junk", "too short"), clock())
    second = read.next(Corrupt(b"junk", "too short"), clock())

    assert first == DropCorrupt(b"junk", "user:1 holds no envelope (too short); dropping it")
    assert isinstance(second, LoadUncached)


def test_a_plain_miss_without_a_lease_loads_uncached():
    clock = FakeClock()

    assert isinstance(lookup(clock).next(NotFound(), clock()), LoadUncached)


@pytest.mark.parametrize(
    ("raw", "reply"),
    [
        ([1, Envelope(b"7").encode(), 1500], Found(Envelope(b"7"), 1500)),
        ([1, b"junk", 1500], Corrupt(b"junk", "4 bytes, shorter than the 12-byte header")),
        ([2], Granted()),
        ([3, 870], Held(870)),
        ([4], NotFound()),
        ([0, b"12"], Moved(12)),
    ],
)
def test_each_shape_of_the_read_scripts_reply_parses(raw, reply):
    assert parse_read_reply(raw) == reply


@pytest.mark.parametrize("raw", [None, [], [9], [1, "text", 5], [3], [0, b"x"], "OK", [b"1"]])
def test_any_other_reply_is_unexpected(raw):
    with pytest.raises(UnexpectedReply):
        parse_read_reply(raw)


@pytest.mark.parametrize(
    "policy",
    [{"lease_s": 0}, {"wait_s": -1}, {"first_poll_s": 0.1, "max_poll_s": 0.01}, {"beta": -1}],
)
def test_a_policy_out_of_range_is_refused(policy):
    with pytest.raises(ValueError, match="must be"):
        LeasePolicy(**policy)

"""Login attempts per account and per address: counted first, taken back on success."""

import asyncio

import pytest

from millionscale.testing import FakeClock
from millionscale.web.throttle import (
    LoginThrottle,
    MemoryFailureCounter,
    SlidingWindow,
    address_key,
)


def throttle(account: int = 3, address: int = 5) -> tuple[LoginThrottle, FakeClock]:
    clock = FakeClock(start=6000.0)  # the start of a slot
    counter = MemoryFailureCounter(clock)
    return (
        LoginThrottle(
            counter,
            per_account=SlidingWindow(account, 60.0),
            per_address=SlidingWindow(address, 60.0),
            clock=clock,
        ),
        clock,
    )


def refusals(attempts) -> list[bool]:
    return [a.refused is not None for a in attempts]


def test_failures_past_the_account_limit_are_refused_with_the_wait():
    gate, _ = throttle(account=3)

    attempts = [asyncio.run(gate.attempt("alice", "192.0.2.1")) for _ in range(5)]

    assert refusals(attempts) == [False, False, False, True, True]
    assert attempts[3].refused is not None
    assert attempts[3].refused.retry_after >= 1


def test_the_account_limit_holds_across_addresses():
    gate, _ = throttle(account=3, address=100)

    attempts = [asyncio.run(gate.attempt("alice", f"192.0.2.{i}")) for i in range(1, 6)]

    assert refusals(attempts) == [False, False, False, True, True]


def test_the_address_limit_holds_across_accounts():
    gate, _ = throttle(account=100, address=5)

    attempts = [asyncio.run(gate.attempt(f"user{i}", "192.0.2.1")) for i in range(7)]

    assert refusals(attempts) == [False] * 5 + [True, True]


def test_concurrent_attempts_cannot_all_pass_a_check_made_before_any_failed():
    gate, _ = throttle(account=3)

    async def burst():
        return await asyncio.gather(*(gate.attempt("alice", "192.0.2.1") for _ in range(40)))

    attempts = asyncio.run(burst())

    assert sum(not refused for refused in refusals(attempts)) == 3


def test_a_success_clears_the_account_and_takes_its_attempt_back_from_the_address():
    gate, _ = throttle(account=3, address=5)

    async def scenario():
        for _ in range(2):
            await gate.attempt("alice", "192.0.2.1")  # two wrong passwords
        right = await gate.attempt("alice", "192.0.2.1")
        await gate.succeeded(right)
        return [await gate.attempt("alice", "192.0.2.1") for _ in range(4)]

    after = asyncio.run(scenario())

    # The account starts afresh (3 more); the address has 2 failures, so 3 more pass.
    assert refusals(after) == [False, False, False, True]


def test_many_successful_logins_from_one_address_are_never_refused():
    gate, _ = throttle(account=3, address=5)

    async def logins():
        for i in range(50):
            attempt = await gate.attempt(f"user{i}", "192.0.2.1")
            assert attempt.refused is None
            await gate.succeeded(attempt)

    asyncio.run(logins())

    assert gate.statistics().allowed == 50


def test_the_window_passes_and_attempts_are_allowed_again():
    gate, clock = throttle(account=3)
    for _ in range(4):
        refused = asyncio.run(gate.attempt("alice", "192.0.2.1")).refused
    assert refused is not None

    clock.jump(refused.retry_after)

    assert asyncio.run(gate.attempt("alice", "192.0.2.1")).refused is None


def test_usernames_are_one_account_whatever_their_case():
    gate, _ = throttle(account=3)

    names = ["alice", "Alice", "ALICE", " alice", "aLiCe"]
    attempts = [asyncio.run(gate.attempt(name, f"192.0.2.{i}")) for i, name in enumerate(names)]

    assert refusals(attempts) == [False, False, False, True, True]


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("testclient", "testclient"),
    ],
)
def test_an_ipv6_subscriber_is_one_address(address, key):
    assert address_key(address) == key

"""Fed with its own responses' latencies, p2c-ewma starves a slowed backend; round-robin cannot."""

import random

from lb_factories import chosen

from millionscale.lb import BackendView, Ewma, Policy, PowerOfTwoChoices, RoundRobin
from millionscale.testing import FakeClock

LATENCY_S = {"web-1": 0.002, "web-2": 0.002, "slowed": 0.020}


def share_of_slowed(policy: Policy, requests: int = 6000) -> float:
    """Send ``requests`` one after another, 10 ms apart, feeding each latency back."""
    clock = FakeClock()
    latency = {name: Ewma(now=clock.now()) for name in LATENCY_S}
    slowed = 0
    for _ in range(requests):
        clock.jump(0.010)
        views = [BackendView(n, latency_s=latency[n].value(clock.now())) for n in LATENCY_S]
        backend = chosen(policy, views)
        latency[backend].observe(LATENCY_S[backend], clock.now())
        slowed += backend == "slowed"
    return slowed / requests


def test_a_backend_ten_times_slower_gets_a_far_smaller_share_than_under_round_robin():
    ewma_share = share_of_slowed(PowerOfTwoChoices(random.Random(7)))
    round_robin_share = share_of_slowed(RoundRobin())

    assert round_robin_share == 1 / 3
    assert ewma_share < 0.02

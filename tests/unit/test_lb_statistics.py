"""Balancer.statistics(): a frozen record per backend, and the admin API's JSON built from it."""

from __future__ import annotations

import dataclasses

import pytest

from millionscale.lb import Balancer, BalancerStatistics, State
from millionscale.testing import FakeClock


def test_statistics_are_a_frozen_record_with_every_backend_and_core():
    clock = FakeClock()
    balancer = Balancer(policy="round-robin", clock=clock)
    balancer.add("web-1", "127.0.0.1", 8001, weight=2, initial=True)
    balancer.add("web-2", "127.0.0.1", 8002)
    balancer.drain("web-1")

    stats = balancer.statistics()

    assert isinstance(stats, BalancerStatistics)
    assert stats.policy == "round-robin"
    assert [b.name for b in stats.backends] == ["web-1", "web-2"]
    web_1 = stats.backend("web-1")
    assert web_1 is not None
    assert (web_1.address, web_1.weight, web_1.state) == ("127.0.0.1:8001", 2, State.DRAINING)
    assert web_1.health.state is State.DRAINING
    assert stats.backend("web-2").state is State.DOWN  # type: ignore[union-attr]
    assert stats.serving == ()
    assert stats.outliers.backends == 2
    assert stats.retries.retries == 0
    assert stats.clients == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.policy = "weighted"  # type: ignore[misc]


def test_the_admin_json_keeps_its_shape():
    balancer = Balancer(clock=FakeClock())
    balancer.add("web-1", "127.0.0.1", 8001, initial=True)

    data = balancer.statistics().to_json()

    assert data == {
        "policy": "p2c-ewma",
        "backends": [
            {
                "name": "web-1",
                "address": "127.0.0.1:8001",
                "weight": 1,
                "state": "falling",  # started up, not yet confirmed by a check
                "serving": True,
                "ejected": False,
                "outstanding": 0,
                "idle_connections": 0,
                "latency_ms": 30.0,
                "slow_start": 1.0,
            }
        ],
    }

"""A purger counts its purges by outcome, its attempts by result, and its lag."""

import asyncio

from prometheus_client import REGISTRY
from purge_factories import Edges, answer, member, purger

from millionscale.cdn.purge import Purge


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_complete_purge_and_an_incomplete_one_are_counted_apart():
    before = {
        outcome: value("millionscale_cdn_purger_purges_total", outcome=outcome)
        for outcome in ("complete", "incomplete")
    }
    retried = value("millionscale_cdn_purger_attempts_total", result="failed")
    lags = value("millionscale_cdn_purger_lag_seconds_count")
    good = Edges({"edge-1": [answer(200)]})
    bad = Edges({"edge-1": [answer(503, b"{}")]})

    asyncio.run(purger(good, member("edge-1")).purge(Purge.tag("t")))
    asyncio.run(purger(bad, member("edge-1"), attempts=2).purge(Purge.tag("t")))

    assert (
        value("millionscale_cdn_purger_purges_total", outcome="complete") == before["complete"] + 1
    )
    assert value("millionscale_cdn_purger_purges_total", outcome="incomplete") == (
        before["incomplete"] + 1
    )
    assert value("millionscale_cdn_purger_attempts_total", result="failed") == retried + 2
    assert value("millionscale_cdn_purger_lag_seconds_count") == lags + 1  # no lag without an ack

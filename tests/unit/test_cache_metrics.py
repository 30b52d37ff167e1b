"""Every tiered cache's statistics are exposed to Prometheus, by cache and tier."""

from prometheus_client import REGISTRY, generate_latest

from millionscale.cache.tiered import TieredCache


def test_a_live_cache_is_exposed_with_bounded_labels():
    cache = TieredCache("redis://127.0.0.1:1/0", name="metrics-test")

    text = generate_latest(REGISTRY).decode()

    for line in (
        'millionscale_cache_hits_total{cache="metrics-test",tier="l1"} 0.0',
        'millionscale_cache_hits_total{cache="metrics-test",tier="l2"} 0.0',
        'millionscale_cache_evictions_total{cache="metrics-test",reason="size",tier="l1"} 0.0',
        'millionscale_cache_loads_total{cache="metrics-test",outcome="error"} 0.0',
        'millionscale_cache_invalidations_total{cache="metrics-test",kind="queued"} 0.0',
        'millionscale_cache_fall_throughs_total{cache="metrics-test"} 0.0',
        'millionscale_cache_stale_serves_total{cache="metrics-test"} 0.0',
        'millionscale_cache_lease_waits_total{cache="metrics-test"} 0.0',
        'millionscale_cache_subscribed{cache="metrics-test"} 0.0',
        'millionscale_cache_breaker_open{cache="metrics-test"} 0.0',
    ):
        assert line in text
    assert cache.statistics().name == "metrics-test"

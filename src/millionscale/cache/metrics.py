"""Prometheus metrics of every tiered cache in the process, read from their statistics.

Nothing is counted twice: at each scrape a collector reads the
:meth:`~millionscale.cache.tiered.TieredCache.statistics` of every live
cache (held weakly) and exposes them, so the read path pays no metric
updates. Labels are bounded: ``cache`` (the cache's name, chosen in code),
``tier`` (``l1``, ``l2``), and a fixed ``reason`` or ``outcome`` set; caches
sharing a name are summed. Names (counters get ``_total``)::

    millionscale_cache_hits_total{cache,tier}          reads answered by the tier
    millionscale_cache_misses_total{cache,tier}        reads the tier could not answer
    millionscale_cache_evictions_total{cache,tier,reason}   L1: size, expired, explicit
    millionscale_cache_loads_total{cache,outcome}      loader calls: ok, error
    millionscale_cache_stale_serves_total{cache}       L2 values served past their fresh life
    millionscale_cache_early_refreshes_total{cache}    XFetch refreshes started
    millionscale_cache_sets_total{cache,outcome}       L2 writes: written, refused, too_large
    millionscale_cache_lease_waits_total{cache}        polls of a lease held by another process
    millionscale_cache_lease_timeouts_total{cache}     reads that stopped waiting and loaded alone
    millionscale_cache_singleflight_joins_total{cache} reads that shared an in-process load
    millionscale_cache_invalidations_total{cache,kind} sent, queued, received, fenced
    millionscale_cache_fall_throughs_total{cache}      reads that went to the loader without Redis
    millionscale_cache_errors_total{cache,kind}        redis, corrupt
    millionscale_cache_entries{cache,tier}             L1 entries now
    millionscale_cache_bytes{cache,tier}               L1 bytes now
    millionscale_cache_subscribed{cache}               1 while invalidations are heard (L1 on)
    millionscale_cache_breaker_open{cache}             1 while Redis is skipped
    millionscale_cache_hot_keys{cache}                 keys hot now
    millionscale_cache_pending_invalidations{cache}    invalidations waiting for Redis (-1: overflowed)
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from millionscale.cache.statistics import TieredStatistics
    from millionscale.cache.tiered import TieredCache

__all__ = ["CacheCollector", "track"]

_CACHES: weakref.WeakSet[TieredCache] = weakref.WeakSet()

_P = "millionscale_cache_"


def track(cache: TieredCache) -> None:
    """Expose ``cache``'s statistics while it lives."""
    _CACHES.add(cache)


def _rows(stats: TieredStatistics) -> dict[tuple[str, tuple[str, ...]], float]:
    l1 = stats.l1
    return {
        ("hits", ("l1",)): l1.hits,
        ("hits", ("l2",)): stats.l2_hits,
        ("misses", ("l1",)): l1.misses,
        ("misses", ("l2",)): stats.l2_misses,
        ("evictions", ("l1", "size")): l1.evicted_size,
        ("evictions", ("l1", "expired")): l1.evicted_expired,
        ("evictions", ("l1", "explicit")): l1.evicted_explicit,
        ("loads", ("ok",)): stats.loads - stats.load_errors,
        ("loads", ("error",)): stats.load_errors,
        ("stale_serves", ()): stats.stale_serves,
        ("early_refreshes", ()): stats.early_refreshes,
        ("sets", ("written",)): stats.sets,
        ("sets", ("refused",)): stats.sets_refused,
        ("sets", ("too_large",)): stats.too_large,
        ("lease_waits", ()): stats.lease_waits,
        ("lease_timeouts", ()): stats.lease_timeouts,
        ("singleflight_joins", ()): stats.joined,
        ("invalidations", ("sent",)): stats.invalidations - stats.invalidations_queued,
        ("invalidations", ("queued",)): stats.invalidations_queued,
        ("invalidations", ("received",)): stats.invalidations_received,
        ("invalidations", ("fenced",)): stats.fenced,
        ("fall_throughs", ()): stats.fall_throughs,
        ("errors", ("redis",)): stats.errors,
        ("errors", ("corrupt",)): stats.corrupt,
        ("entries", ("l1",)): l1.entries,
        ("bytes", ("l1",)): l1.bytes,
        ("subscribed", ()): float(stats.subscribed),
        ("breaker_open", ()): float(stats.breaker != "closed"),
        ("hot_keys", ()): stats.hot_keys,
        ("pending_invalidations", ()): stats.pending,
    }


# name -> (help, extra label names, counter?)
_FAMILIES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "hits": ("Reads answered by the tier", ("tier",), True),
    "misses": ("Reads the tier could not answer", ("tier",), True),
    "evictions": ("Entries that left the tier, by reason", ("tier", "reason"), True),
    "loads": ("Loader calls, by outcome", ("outcome",), True),
    "stale_serves": ("L2 values served past their fresh life while refreshed", (), True),
    "early_refreshes": ("Probabilistic early refreshes started", (), True),
    "sets": ("L2 writes under a lease, by outcome", ("outcome",), True),
    "lease_waits": ("Polls of a lease another process held", (), True),
    "lease_timeouts": ("Reads that waited for a lease too long and loaded alone", (), True),
    "singleflight_joins": ("Reads that shared a load already running in the process", (), True),
    "invalidations": (
        "Invalidated keys: sent, queued, received, fenced L1 admissions",
        ("kind",),
        True,
    ),
    "fall_throughs": ("Reads that went to the loader without Redis", (), True),
    "errors": ("Redis failures and corrupt values", ("kind",), True),
    "entries": ("Entries held", ("tier",), False),
    "bytes": ("Bytes charged", ("tier",), False),
    "subscribed": ("1 while invalidations are heard and L1 is in use", (), False),
    "breaker_open": ("1 while Redis is skipped after a failure", (), False),
    "hot_keys": ("Keys detected hot now", (), False),
    "pending_invalidations": ("Invalidations waiting for Redis (-1: overflowed)", (), False),
}


class CacheCollector(Collector):
    """Reads the statistics of every tracked cache at each scrape."""

    def collect(self) -> Iterator[Metric]:
        totals: dict[tuple[str, tuple[str, ...]], float] = defaultdict(float)
        for cache in list(_CACHES):
            stats = cache.statistics()
            for (family, labels), value in _rows(stats).items():
                totals[(family, (stats.name, *labels))] += value
        for family, (text, label_names, counter) in _FAMILIES.items():
            metric: CounterMetricFamily | GaugeMetricFamily
            if counter:
                metric = CounterMetricFamily(_P + family, text, labels=["cache", *label_names])
            else:
                metric = GaugeMetricFamily(_P + family, text, labels=["cache", *label_names])
            for (name, labels), value in totals.items():
                if name == family:
                    metric.add_metric(list(labels), value)
            yield metric

    def describe(self) -> Iterator[Metric]:
        return iter(())


REGISTRY.register(CacheCollector())

"""The edge's Prometheus metrics (``/metrics`` on the admin port).

The counters touched on every request are plain numbers on the edge
(:class:`Counts`) and become metric families only when scraped, as the
balancer's do (``prometheus_client``'s ``Counter.inc`` takes a lock: a few
per cent of a hit's time). Labels are bounded sets: the edge's name (one per
edge of the process), an outcome, a source, a reason, a purge kind.

- ``millionscale_cdn_requests_total{edge, outcome}``: hit, miss, stale,
  revalidated, pass, error;
- ``millionscale_cdn_bytes_total{edge, source}``: body bytes served from the
  store (``edge``) and fetched from the origin (``origin``);
- ``millionscale_cdn_coalesced_total{edge}``: requests that joined another's
  origin fetch;
- ``millionscale_cdn_origin_fetches_total{edge}``;
- ``millionscale_cdn_stale_served_total{edge, reason}``: swr, error, soft-purge;
- ``millionscale_cdn_purges_total{edge, kind}``: url, prefix, tag, all;
- ``millionscale_cdn_purge_lag_seconds{edge}``: a purge's ``issued_at`` to applied;
- ``millionscale_cdn_store_{objects,memory_bytes,disk_bytes}{edge}``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from millionscale.cdn.purge import KINDS as PURGE_KINDS

__all__ = ["OUTCOMES", "PURGE_LAG", "STALE_REASONS", "Counts", "register"]

OUTCOMES = ("hit", "miss", "stale", "revalidated", "pass", "error")
STALE_REASONS = ("swr", "error", "soft-purge")
# Purges reach an edge within milliseconds on one machine, a few seconds across a fleet
# (Fastly quotes ~150 ms global purge); buckets from 1 ms to 30 s.
PURGE_LAG = Histogram(
    "millionscale_cdn_purge_lag_seconds",
    "From a purge's issued_at to its being applied at the edge",
    ["edge"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


class Counts:
    """One edge's counters, as plain numbers (only the event loop's thread writes them)."""

    __slots__ = (
        "bytes_from_edge",
        "bytes_from_origin",
        "origin_fetches",
        "outcomes",
        "purges",
        "stale",
    )

    def __init__(self) -> None:
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.stale = dict.fromkeys(STALE_REASONS, 0)
        self.purges = dict.fromkeys(PURGE_KINDS, 0)
        self.bytes_from_edge = 0
        self.bytes_from_origin = 0
        self.origin_fetches = 0


# (stored objects, memory bytes, disk bytes, requests coalesced so far): read at scrape time.
StoreGauges = Callable[[], tuple[int, int, int, int]]


class _Collector(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._edges: dict[str, tuple[Counts, StoreGauges]] = {}

    def add(self, name: str, counts: Counts, gauges: StoreGauges) -> None:
        with self._lock:
            self._edges[name] = (counts, gauges)

    def remove(self, name: str, counts: Counts) -> None:
        with self._lock:
            if name in self._edges and self._edges[name][0] is counts:
                del self._edges[name]

    def collect(self) -> Iterator[Metric]:
        def counter(name: str, text: str, labels: list[str]) -> CounterMetricFamily:
            return CounterMetricFamily(f"millionscale_cdn_{name}", text, labels=labels)

        requests = counter("requests", "Client requests, by outcome", ["edge", "outcome"])
        served = counter("bytes", "Body bytes, by source", ["edge", "source"])
        coalesced = counter("coalesced", "Requests that joined another's fetch", ["edge"])
        fetches = counter("origin_fetches", "Requests sent to the origin", ["edge"])
        stale = counter("stale_served", "Stale answers, by reason", ["edge", "reason"])
        purges = counter("purges", "Purge requests applied, by kind", ["edge", "kind"])
        gauges: list[Any] = [
            GaugeMetricFamily(f"millionscale_cdn_store_{what}", text, labels=["edge"])
            for what, text in (
                ("objects", "Stored responses"),
                ("memory_bytes", "Bytes held in memory"),
                ("disk_bytes", "Bytes held in spill files"),
            )
        ]
        with self._lock:
            edges = sorted(self._edges.items())
        for name, (counts, store) in edges:
            for outcome, n in list(counts.outcomes.items()):
                requests.add_metric([name, outcome], n)
            served.add_metric([name, "edge"], counts.bytes_from_edge)
            served.add_metric([name, "origin"], counts.bytes_from_origin)
            fetches.add_metric([name], counts.origin_fetches)
            for reason, n in list(counts.stale.items()):
                stale.add_metric([name, reason], n)
            for kind, n in list(counts.purges.items()):
                purges.add_metric([name, kind], n)
            *values, joined = store()
            coalesced.add_metric([name], joined)
            for gauge, value in zip(gauges, values, strict=True):
                gauge.add_metric([name], value)
        yield from (requests, served, coalesced, fetches, stale, purges, *gauges)


_COLLECTOR = _Collector()
REGISTRY.register(_COLLECTOR)


def register(name: str, counts: Counts, gauges: StoreGauges) -> Callable[[], None]:
    """Export edge ``name``'s counters and store gauges; returns the unregister call."""
    _COLLECTOR.add(name, counts, gauges)
    return lambda: _COLLECTOR.remove(name, counts)

"""The balancer's Prometheus metrics (``/metrics`` on the admin port).

Labels are backend names and outcome or status classes: bounded sets.

The two series touched on every request, attempts by outcome and the backend
latency histogram, are kept by :class:`BackendMetrics` as plain numbers and
turned into metric families only when scraped: ``prometheus_client``'s own
``Counter.inc`` and ``Histogram.observe`` take a lock and walk the buckets in
Python on every call (about 3 µs a request together, a few per cent of the
balancer's time). The exposition is the same as theirs would be:
``millionscale_lb_requests_total{backend, outcome}`` and
``millionscale_lb_backend_latency_seconds_{bucket,count,sum}{backend}``.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "EJECTIONS",
    "HEALTHY",
    "LATENCY_BUCKETS",
    "REFUSED",
    "BackendMetrics",
    "backend_metrics",
]

HEALTHY = Gauge("millionscale_lb_backend_serving", "1 when the backend takes requests", ["backend"])
EJECTIONS = Counter("millionscale_lb_ejections", "Outlier ejections", ["backend"])
REFUSED = Counter("millionscale_lb_refused", "Requests refused before any backend", ["status"])
LATENCY_BUCKETS = Histogram.DEFAULT_BUCKETS  # prometheus_client's: 5 ms to 10 s, and +Inf


class BackendMetrics:
    """One backend's attempts by outcome and its latency histogram, as plain numbers.

    Only the event loop's thread writes them; a scrape (any thread) reads
    numbers that may be one request behind, never torn ones (each is one
    Python object replaced whole).
    """

    __slots__ = ("attempts", "buckets", "count", "name", "sum")

    def __init__(self, name: str) -> None:
        self.name = name
        self.attempts: dict[str, int] = {}  # outcome label -> attempts
        self.buckets = [0] * len(LATENCY_BUCKETS)  # per bucket, not cumulative
        self.count = 0
        self.sum = 0.0

    def attempt(self, outcome: str) -> None:
        attempts = self.attempts
        attempts[outcome] = attempts.get(outcome, 0) + 1

    def latency(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.count += 1
        self.sum += seconds


def backend_metrics(name: str) -> BackendMetrics:
    """The metrics of backend ``name`` in this process: one series per name, as a
    labelled child would be (a backend removed and added again continues it)."""
    return _COLLECTOR.get(name)


class _Collector(Collector):
    """Exports every :class:`BackendMetrics` of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: dict[str, BackendMetrics] = {}

    def get(self, name: str) -> BackendMetrics:
        with self._lock:
            metrics = self._backends.get(name)
            if metrics is None:
                metrics = self._backends[name] = BackendMetrics(name)
            return metrics

    def collect(self) -> Iterator[Metric]:
        attempts = CounterMetricFamily(
            "millionscale_lb_requests",
            "Attempts sent to a backend, by outcome",
            labels=["backend", "outcome"],
        )
        latency = HistogramMetricFamily(
            "millionscale_lb_backend_latency_seconds",
            "Backend response time (until the response head)",
            labels=["backend"],
        )
        with self._lock:
            backends = sorted(self._backends.items())
        for name, metrics in backends:
            for outcome, n in sorted(list(metrics.attempts.items())):
                attempts.add_metric([name, outcome], n)
            cumulative, running = [], 0
            for bound, n in zip(LATENCY_BUCKETS, list(metrics.buckets), strict=True):
                running += n
                cumulative.append((_bound(bound), float(running)))
            latency.add_metric([name], cumulative, sum_value=metrics.sum)
        yield attempts
        yield latency


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


_COLLECTOR = _Collector()
REGISTRY.register(_COLLECTOR)

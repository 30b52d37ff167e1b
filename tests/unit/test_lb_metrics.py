"""Attempts and latencies kept as plain numbers are exported as Prometheus would."""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest

from millionscale.lb.metrics import backend_metrics


def _samples(name: str) -> dict[str, float]:
    found = {}
    for line in generate_latest(REGISTRY).decode().splitlines():
        if line.startswith(name) and 'backend="metrics-test' in line:
            series, _, value = line.rpartition(" ")
            found[series] = float(value)
    return found


def test_attempts_are_counted_by_outcome_and_backend():
    metrics = backend_metrics("metrics-test-1")

    for outcome in ("2xx", "2xx", "5xx", "reset"):
        metrics.attempt(outcome)

    assert _samples("millionscale_lb_requests_total") == {
        'millionscale_lb_requests_total{backend="metrics-test-1",outcome="2xx"}': 2.0,
        'millionscale_lb_requests_total{backend="metrics-test-1",outcome="5xx"}': 1.0,
        'millionscale_lb_requests_total{backend="metrics-test-1",outcome="reset"}': 1.0,
    }


def test_latencies_fill_cumulative_buckets_including_their_bound():
    metrics = backend_metrics("metrics-test-2")

    for seconds in (0.005, 0.02, 0.3, 60.0):
        metrics.latency(seconds)

    samples = _samples("millionscale_lb_backend_latency_seconds")
    bucket = 'millionscale_lb_backend_latency_seconds_bucket{backend="metrics-test-2",le="%s"}'
    assert samples[bucket % "0.005"] == 1.0  # le: a bound counts in its own bucket
    assert samples[bucket % "0.025"] == 2.0
    assert samples[bucket % "0.5"] == 3.0
    assert samples[bucket % "10.0"] == 3.0
    assert samples[bucket % "+Inf"] == 4.0
    count = 'millionscale_lb_backend_latency_seconds_count{backend="metrics-test-2"}'
    assert samples[count] == 4.0
    assert round(samples[count.replace("_count", "_sum")], 3) == 60.325


def test_a_backend_added_again_continues_its_series():
    assert backend_metrics("metrics-test-3") is backend_metrics("metrics-test-3")

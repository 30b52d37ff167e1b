"""The metrics scraper reads a real exposition, from our own registry, with Prometheus's parser."""

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from millionscale.testing import Metrics, MetricsError


def exposition() -> str:
    registry = CollectorRegistry()
    requests = Counter("http_requests", "Requests.", ["method", "status"], registry=registry)
    requests.labels(method="GET", status="2xx").inc(3)
    requests.labels(method="POST", status="5xx").inc()
    latency = Histogram("latency_seconds", "Latency.", buckets=(0.1, 1.0), registry=registry)
    latency.observe(0.5)
    return generate_latest(registry).decode()


def test_a_sample_is_found_by_its_name_and_exact_labels_in_any_order():
    metrics = Metrics.parse(exposition())

    assert metrics.sample("http_requests_total", {"status": "2xx", "method": "GET"}) == 3.0
    assert metrics.sample("latency_seconds_count") == 1.0
    assert metrics.sample("latency_seconds_bucket", {"le": "+Inf"}) == 1.0


def test_a_total_sums_the_samples_whose_labels_include_the_ones_given():
    metrics = Metrics.parse(exposition())

    assert metrics.total("http_requests_total") == 4.0
    assert metrics.total("http_requests_total", status="5xx") == 1.0
    assert metrics.total("http_requests_total", status="4xx") == 0.0


def test_a_missing_sample_says_which_label_sets_there_are():
    metrics = Metrics.parse(exposition())

    with pytest.raises(MetricsError, match=r'no sample http_requests_total\{method="PUT"\}') as err:
        metrics.sample("http_requests_total", {"method": "PUT"})

    assert 'method="GET",status="2xx"' in err.value.message
    assert err.value.hint


def test_a_missing_sample_can_default_as_a_counter_not_yet_incremented():
    metrics = Metrics.parse(exposition())

    assert metrics.sample("nothing_total", {"a": "b"}, default=0.0) == 0.0


def test_escaped_label_values_and_special_values_are_read_as_prometheus_reads_them():
    text = 'odd{path="/a\\"b",v="x\\\\y"} +Inf\nnan_gauge NaN\n'

    metrics = Metrics.parse(text)

    assert metrics.sample("odd", {"path": '/a"b', "v": "x\\y"}) == math.inf
    assert math.isnan(metrics.sample("nan_gauge"))


def test_a_page_that_is_not_an_exposition_is_a_clear_error():
    with pytest.raises(MetricsError, match="not a Prometheus text exposition"):
        Metrics.parse("<html><body>hello</body></html>\n")

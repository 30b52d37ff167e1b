"""GeoDNS's /metrics: the core's and the shell's counters as Prometheus series, read at
scrape time, with bounded labels (rcodes, the zone's data centers)."""

from geodns_factories import ask, authority, query
from prometheus_client import CollectorRegistry, generate_latest

from millionscale.geodns.metrics import GeoDnsCollector
from millionscale.geodns.server import DnsServer


def scrape(server: DnsServer) -> str:
    registry = CollectorRegistry()
    registry.register(GeoDnsCollector(server))
    return generate_latest(registry).decode()


def test_answers_by_rcode_and_data_center_and_cache_hits() -> None:
    core = authority()
    for name in ("www.photos.test.", "www.photos.test.", "nope.photos.test."):
        ask(core, query(name))

    text = scrape(DnsServer(core))

    assert 'millionscale_geodns_answers_total{rcode="NOERROR"} 2.0' in text
    assert 'millionscale_geodns_answers_total{rcode="NXDOMAIN"} 1.0' in text
    assert 'millionscale_geodns_service_answers_total{datacenter="us-east"} 2.0' in text
    assert 'millionscale_geodns_service_answers_total{datacenter="eu-west"} 0.0' in text
    assert "millionscale_geodns_cache_hits_total 1.0" in text


def test_health_is_a_gauge_per_data_center() -> None:
    core = authority()
    core.set_healthy({"eu-west"})

    text = scrape(DnsServer(core))

    assert 'millionscale_geodns_datacenter_healthy{datacenter="eu-west"} 1.0' in text
    assert 'millionscale_geodns_datacenter_healthy{datacenter="us-east"} 0.0' in text

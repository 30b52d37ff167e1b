"""GeoDNS's Prometheus metrics, read from the statistics at scrape time.

Answering counts in plain integers (:meth:`Authority.statistics`,
:meth:`DnsServer.statistics`) and this collector turns them into series when
``/metrics`` is scraped, so a query pays no metrics library. Labels are
bounded: an rcode is one of DNS's names, a data center one of the zone's.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from millionscale.geodns.authority import Authority
from millionscale.geodns.server import DnsServer

__all__ = ["GeoDnsCollector"]


class GeoDnsCollector(Collector):
    def __init__(self, server: DnsServer) -> None:
        self._server = server

    def collect(self) -> Iterator[Metric]:
        authority: Authority = self._server.authority
        stats, shell = authority.statistics(), self._server.statistics()
        queries = CounterMetricFamily(
            "millionscale_geodns_queries", "Queries received, by transport", labels=["transport"]
        )
        queries.add_metric(["udp"], shell.udp_queries)
        queries.add_metric(["tcp"], shell.tcp_queries)
        yield queries
        answers = CounterMetricFamily(
            "millionscale_geodns_answers", "Replies sent, by response code", labels=["rcode"]
        )
        for rcode, count in sorted(stats.rcodes.items()):
            answers.add_metric([rcode], count)
        yield answers
        yield CounterMetricFamily(
            "millionscale_geodns_dropped",
            "Packets not answered (too short, or responses)",
            value=stats.dropped,
        )
        yield CounterMetricFamily(
            "millionscale_geodns_cache_hits",
            "Queries answered from the packet cache",
            value=stats.cache_hits,
        )
        yield CounterMetricFamily(
            "millionscale_geodns_truncated",
            "UDP replies sent truncated (TC)",
            value=stats.truncated,
        )
        sent = CounterMetricFamily(
            "millionscale_geodns_service_answers",
            "Service answers, by the data center they pointed at",
            labels=["datacenter"],
        )
        for name in sorted(authority.zone.datacenters):
            sent.add_metric([name], stats.datacenters.get(name, 0))
        yield sent
        healthy = GaugeMetricFamily(
            "millionscale_geodns_datacenter_healthy",
            "1 while answers may point at the data center",
            labels=["datacenter"],
        )
        for name in sorted(authority.zone.datacenters):
            healthy.add_metric([name], 1.0 if name in authority.healthy else 0.0)
        yield healthy
        yield GaugeMetricFamily(
            "millionscale_geodns_tcp_connections",
            "TCP connections open",
            value=shell.tcp_connections,
        )

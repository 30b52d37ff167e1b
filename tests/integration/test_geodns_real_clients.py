"""Real clients get the right answers from ``python -m millionscale.geodns``: dig and
kdig (Debian's bind9-dnsutils and knot-dnsutils) and dnspython's resolver, with and
without EDNS Client Subnet, over UDP and TCP; a big answer comes truncated over UDP
and whole over TCP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.resolver
import pytest

from millionscale.geodns.geoip import Place, write_database
from millionscale.servers import free_port
from millionscale.testing import spawn_module, wait_ready

pytestmark = pytest.mark.integration

ZONE = Path(__file__).parents[2] / "topologies/geodns/photos.zone.toml"
# The shipped zone plus six 200-byte TXT strings at big.photos.test: over 1,200 bytes.
BIG = "".join(
    f'\n[[records]]\nname = "big"\ntype = "TXT"\nvalue = \'"{i}{"x" * 199}"\'\n' for i in range(6)
)
US, EU = "10.1.0.10", "10.2.0.10"
PLACES = {
    "192.0.2.0/24": Place("EU", "DE", 50.1, 8.7),
    "198.51.100.0/24": Place("NA", "US", 40.7, -74.0),
}


@dataclass(frozen=True, slots=True)
class Server:
    port: int

    def dig(self, *args: str) -> str:
        return _run("dig", "@127.0.0.1", "-p", str(self.port), "+time=2", "+tries=1", *args)

    def kdig(self, *args: str) -> str:
        return _run("kdig", "@127.0.0.1", "-p", str(self.port), "+time=2", "+retry=0", *args)


def _run(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        pytest.fail(
            f"{argv[0]} is not installed: python -m millionscale.servers.install --dns-clients"
        )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr or done.stdout
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("geodns")
    geoip = write_database(work / "places.mmdb", PLACES)
    zone = work / "zone.toml"
    zone.write_text(ZONE.read_text() + BIG)
    port, admin = free_port(), free_port()
    args = ["--zone", str(zone), "--geoip", str(geoip), "--port", str(port)]
    with spawn_module("millionscale.geodns", *args, "--admin-port", str(admin)) as child:
        wait_ready(
            f"http://127.0.0.1:{admin}/readyz", 30, process=child.process, log=child.log_path
        )
        yield Server(port)


def test_dig_without_a_subnet_gets_the_default_data_center(server: Server) -> None:
    assert server.dig("+short", "www.photos.test", "A").split() == [US]


def test_dig_with_a_european_subnet_gets_eu_west_and_the_scope(server: Server) -> None:
    out = server.dig("+subnet=192.0.2.0/24", "www.photos.test", "A")

    assert f"www.photos.test.\t30\tIN\tA\t{EU}" in out
    assert "CLIENT-SUBNET: 192.0.2.0/24/24" in out
    assert "flags: qr aa" in out


def test_dig_over_tcp_follows_the_cname(server: Server) -> None:
    assert server.dig("+tcp", "+short", "+subnet=192.0.2.0/24", "static.photos.test").split() == [
        "www.photos.test.",
        EU,
    ]


def test_dig_sees_nxdomain_with_the_soa(server: Server) -> None:
    out = server.dig("nope.photos.test", "A")

    assert "status: NXDOMAIN" in out
    assert "photos.test.\t\t30\tIN\tSOA\tns1.photos.test. hostmaster.photos.test." in out


def test_dig_gets_the_nsid(server: Server) -> None:
    assert 'NSID: 67 65 6f 64 6e 73 2d 31 ("geodns-1")' in server.dig("+nsid", "photos.test", "SOA")


def test_kdig_over_udp_and_tcp_with_a_subnet(server: Server) -> None:
    for transport in ("+notcp", "+tcp"):
        out = server.kdig(transport, "+short", "+subnet=198.51.100.0/24", "www.photos.test", "A")
        assert out.split() == [US]
        out = server.kdig(transport, "+short", "+subnet=192.0.2.0/24", "near.photos.test", "A")
        assert out.split() == [EU]  # Frankfurt is nearer Dublin than Washington


def test_kdig_sees_badvers_for_edns_version_1(server: Server) -> None:
    assert "status: BADVERS" in server.kdig("+edns=1", "www.photos.test")


def test_dig_is_refused_outside_the_zone(server: Server) -> None:
    assert "status: REFUSED" in server.dig("example.com", "A")


def test_dnspython_resolver_over_udp_and_tcp(server: Server) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    resolver.use_edns(0, 0, 1232, options=[dns.edns.ECSOption("192.0.2.0", 24)])

    for tcp in (False, True):
        answer = resolver.resolve("www.photos.test.", "A", tcp=tcp, lifetime=5)
        assert [r.address for r in answer] == [EU]
        assert answer.rrset is not None
        assert answer.rrset.ttl <= 30


def test_dnspython_resolver_raises_nxdomain(server: Server) -> None:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port

    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("nope.photos.test.", "A", lifetime=5)


def test_an_answer_too_big_for_udp_is_truncated_and_comes_whole_over_tcp(server: Server) -> None:
    query = dns.message.make_query("big.photos.test.", "TXT", use_edns=False)

    udp = dns.query.udp(query, "127.0.0.1", port=server.port, timeout=5)
    tcp = dns.query.tcp(query, "127.0.0.1", port=server.port, timeout=5)

    assert udp.flags & dns.flags.TC
    assert len(udp.to_wire()) <= 512
    assert not tcp.flags & dns.flags.TC
    assert sum(len(rrset) for rrset in tcp.answer) == 6


def test_dig_retries_a_truncated_answer_over_tcp(server: Server) -> None:
    out = server.dig("+noedns", "big.photos.test", "TXT")

    assert "Truncated, retrying in TCP mode" in out
    assert out.count("\tIN\tTXT\t") == 6


def _millionscale(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "millionscale.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_millionscale_dns_query_asks_the_server_as_the_user(server: Server) -> None:
    done = _millionscale(
        "dns",
        "query",
        "www.photos.test",
        "--from",
        "192.0.2.7",
        "--server",
        f"127.0.0.1:{server.port}",
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [
        "www.photos.test from 192.0.2.7: NOERROR, authoritative, over UDP"
        + done.stdout.splitlines()[0].split("over UDP", 1)[1],
        f"  www.photos.test. 30 IN A {EU}",
    ]
    assert "the answer holds for its /24 (ECS scope)" in done.stdout


def test_millionscale_dns_query_json_over_tcp(server: Server) -> None:
    done = _millionscale(
        "dns",
        "query",
        "big.photos.test",
        "--type",
        "TXT",
        "--json",
        "--tcp",
        "--server",
        f"127.0.0.1:{server.port}",
    )

    answer = json.loads(done.stdout)
    assert (answer["rcode"], answer["transport"], len(answer["records"])) == ("NOERROR", "tcp", 6)


def test_millionscale_dns_query_with_a_zone_explains_without_a_server(tmp_path: Path) -> None:
    geoip = write_database(tmp_path / "places.mmdb", PLACES)

    done = _millionscale(
        "dns",
        "query",
        "near.photos.test",
        "--from",
        "198.51.100.9",
        "--zone",
        str(ZONE),
        "--geoip",
        str(geoip),
    )

    assert done.returncode == 0, done.stderr
    assert f"near.photos.test. 30 IN A {US}" in done.stdout
    assert "198.51.100.9: continent NA, country US, (40.70, -74.00), network /24" in done.stdout
    assert "sent to us-east: the nearest to (40.70, -74.00)" in done.stdout


def test_millionscale_dns_query_without_a_server_is_one_line() -> None:
    done = _millionscale("dns", "query", "www.photos.test", "--server", f"127.0.0.1:{free_port()}")

    assert done.returncode == 2
    assert done.stderr.startswith("error: no answer from 127.0.0.1:")
    assert len(done.stderr.strip().splitlines()) == 1

"""The fast path (byte-level, for the common query) gives the answer the full path
(dnspython) gives: the same rcode, flags, records (names compared without regard to
case, as DNS compares them) and options, for generated queries
(hypothesis), and it does take the queries of the common shape."""

import ipaddress
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import pytest
from geodns_factories import ZONE, geoip, query, zone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from millionscale.geodns import Authority

# The factories' zone, plus a CNAME out of the zone, a chain of two, a CNAME to nothing,
# and a second name server with IPv4 and IPv6 glue.
EXTRA = """
[[records]]
name = "ext"
type = "CNAME"
value = "example.com."

[[records]]
name = "c1"
type = "CNAME"
value = "static"

[[records]]
name = "gone"
type = "CNAME"
value = "nothing"
"""
FULL_ZONE = (
    ZONE.replace(
        '[[ns]]\nname = "ns1"\naddresses = ["10.53.0.2"]',
        '[[ns]]\nname = "ns1"\naddresses = ["10.53.0.2"]\n\n[[ns]]\nname = "ns2"\naddresses = ["10.53.0.3", "2001:db8::53"]',
    )
    + EXTRA
)
NAMES = [
    "ext.photos.test.",
    "c1.photos.test.",
    "gone.photos.test.",
    "ns2.photos.test.",
    "www.photos.test.",
    "WWW.Photos.Test.",
    "near.photos.test.",
    "static.photos.test.",
    "photos.test.",
    "deep.photos.test.",
    "a.deep.photos.test.",
    "nope.photos.test.",
    "x.www.photos.test.",
    "ns1.photos.test.",
    "example.com.",
    "photos.test.example.",
]
TYPES = ["A", "AAAA", "TXT", "SOA", "NS", "MX", "CNAME", "ANY", "SRV"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Authority, Authority]:
    tmp: Path = tmp_path_factory.mktemp("fast")
    compiled = zone(FULL_ZONE)
    assert len(compiled.nodes) > len(zone(ZONE).nodes) + 3
    both = (
        Authority(compiled, geoip(tmp), cache_entries=0, fast=True),
        Authority(compiled, geoip(tmp), cache_entries=0, fast=False),
    )
    return both


def summary(wire: bytes) -> tuple[object, ...]:
    message = dns.message.from_wire(wire)
    sections = [
        sorted(line.lower() for rrset in section for line in rrset.to_text().splitlines())
        for section in (message.answer, message.authority, message.additional)
    ]
    options = sorted(o.to_text() for o in message.options)
    return (
        message.id,
        message.flags,
        message.rcode(),
        message.edns,
        message.payload,
        options,
        *sections,
    )


addresses = st.one_of(
    st.sampled_from(["192.0.2.0", "198.51.100.0", "203.0.113.128", "100.64.3.0", "172.16.0.0"]),
    st.ip_addresses(v=4).map(str),
)


@st.composite
def queries(draw: st.DrawFn) -> dns.message.Message:
    name, rdtype = draw(st.sampled_from(NAMES)), draw(st.sampled_from(TYPES))
    edns = draw(st.booleans())
    options: list[dns.edns.Option] = []
    if edns and draw(st.booleans()):
        srclen = draw(st.integers(0, 32))
        network = ipaddress.ip_network(f"{draw(addresses)}/{srclen}", strict=False)
        options.append(dns.edns.ECSOption(str(network.network_address), srclen))
    if edns and draw(st.booleans()):
        options.append(dns.edns.GenericOption(dns.edns.OptionType.NSID, b""))
    payload = draw(st.sampled_from([512, 1232, 4096, 100]))
    message = query(name, rdtype, edns=0 if edns else -1, payload=payload, options=options or None)
    if draw(st.booleans()):
        message.flags |= dns.flags.RD
    if draw(st.booleans()):
        message.flags |= dns.flags.CD
    return message


@settings(
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(queries(), st.sampled_from(["udp", "tcp"]), addresses)
def test_both_paths_give_the_same_answer(
    servers: tuple[Authority, Authority], message: dns.message.Message, transport: str, source: str
) -> None:
    fast, full = servers
    wire, address = message.to_wire(), ipaddress.ip_address(source)

    one = fast.respond(wire, address, transport)  # type: ignore[arg-type]
    other = full.respond(wire, address, transport)  # type: ignore[arg-type]

    assert one is not None
    assert other is not None
    assert (one.rcode, one.datacenter, one.truncated) == (
        other.rcode,
        other.datacenter,
        other.truncated,
    )
    assert summary(one.wire) == summary(other.wire)


def test_a_common_query_takes_the_fast_path(tmp_path: Path) -> None:
    server = Authority(zone(ZONE), geoip(tmp_path), cache_entries=0)
    message = query("www.photos.test.", options=[dns.edns.ECSOption("192.0.2.0", 24)])

    reply = server._fast_answer  # the path itself, asked directly
    from millionscale.geodns.fast import read_common

    common = read_common(message.to_wire())
    assert common is not None
    answer = reply(common, ipaddress.ip_address("127.0.0.1"), "udp")
    assert answer is not None
    assert answer.datacenter == "eu-west"

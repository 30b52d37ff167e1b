"""Factories for GeoDNS's unit tests: a zone, queries, answers read back, a GeoIP file.

The zone :func:`zone_file` writes has two data centers, ``us-east`` (10.1.0.10,
2001:db8:1::10) and ``eu-west`` (10.2.0.10, IPv4 only), and a service ``www``
sent by continent (EU → eu-west first) and a service ``near`` by distance;
:data:`PLACES` are the networks :func:`geoip` writes.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

import dns.edns
import dns.message
import dns.rdataclass
import dns.rdatatype

from millionscale import tomlfile
from millionscale.errors import ZoneError
from millionscale.geodns import Authority, MaxMindLocator, Reply, Zone, ZoneFile, compile_zone
from millionscale.geodns.geoip import Place, write_database
from millionscale.geodns.locate import Address

ORIGIN = "photos.test."
CLIENT = ipaddress.ip_address("127.0.0.1")

ZONE = """\
origin = "photos.test."
nsid = "ns-test"

[soa]
mname = "ns1"
rname = "hostmaster"
serial = 7
minimum = 30
ttl = 3600

[[ns]]
name = "ns1"
addresses = ["10.53.0.2"]

[datacenters.us-east]
addresses = ["10.1.0.10", "2001:db8:1::10"]
latitude = 38.9
longitude = -77.0

[datacenters.eu-west]
addresses = ["10.2.0.10"]
latitude = 53.3
longitude = -6.3

[services.www]
ttl = 20
default = ["us-east", "eu-west"]
continents = { EU = ["eu-west", "us-east"] }
countries = { CA = ["us-east"] }

[services.near]
policy = "distance"
default = ["us-east", "eu-west"]

[[records]]
name = "static"
type = "CNAME"
value = "www"

[[records]]
name = "a.deep"
type = "TXT"
value = '"under an empty non-terminal"'

[[records]]
name = "@"
type = "TXT"
value = '"apex"'
"""

# The networks geoip() writes: a European, a North American, a Canadian, one
# with only coordinates near Dublin, an Asian one (no list: the default).
PLACES = {
    "192.0.2.0/24": Place("EU", "DE", 50.1, 8.7),
    "198.51.100.0/24": Place("NA", "US", 40.7, -74.0),
    "203.0.113.0/25": Place("NA", "CA", 45.4, -75.7),
    "203.0.113.128/25": Place("EU", None, 53.0, -6.0),
    "100.64.0.0/16": Place("AS", "JP", 35.7, 139.7),
    "2001:db8:e0::/48": Place("EU", "FR", 48.9, 2.4),
}


def zone_text(**changes: Any) -> str:
    """:data:`ZONE` with top-level keys replaced (a TOML value each, as text)."""
    lines = ZONE.splitlines()
    for key, value in changes.items():
        lines = [f"{key} = {value}" if line.startswith(f"{key} =") else line for line in lines]
    return "\n".join(lines) + "\n"


def parse_zone(text: str = ZONE) -> ZoneFile:
    return tomlfile.parse(text, ZoneFile, source="zone.toml", error=ZoneError)


def zone(text: str = ZONE) -> Zone:
    return compile_zone(parse_zone(text))


def zone_data(text: str = ZONE) -> dict[str, Any]:
    return tomllib.loads(text)


def geoip(tmp_path: Path) -> MaxMindLocator:
    return MaxMindLocator(write_database(tmp_path / "places.mmdb", PLACES))


def authority(tmp_path: Path | None = None, text: str = ZONE) -> Authority:
    """An Authority on the zone, locating clients by :data:`PLACES` if ``tmp_path``."""
    return Authority(zone(text), geoip(tmp_path) if tmp_path is not None else None)


def query(
    name: str,
    rdtype: str = "A",
    *,
    edns: int = -1,
    payload: int = 1232,
    options: list[dns.edns.Option] | None = None,
    rdclass: str = "IN",
) -> dns.message.QueryMessage:
    if edns < 0 and not options:
        return dns.message.make_query(
            name, dns.rdatatype.from_text(rdtype), dns.rdataclass.from_text(rdclass), use_edns=False
        )
    return dns.message.make_query(
        name,
        dns.rdatatype.from_text(rdtype),
        dns.rdataclass.from_text(rdclass),
        use_edns=max(edns, 0),
        payload=payload,
        options=options,
    )


def ecs(address: str, srclen: int) -> dns.edns.ECSOption:
    return dns.edns.ECSOption(address, srclen)


def ask(
    server: Authority,
    message: dns.message.Message | bytes,
    *,
    source: Address = CLIENT,
    transport: str = "udp",
) -> tuple[Reply, dns.message.Message]:
    """Ask ``server``; the reply and the message it carries, parsed by dnspython."""
    wire = message if isinstance(message, bytes) else message.to_wire()
    reply = server.respond(wire, source, transport)  # type: ignore[arg-type]
    assert reply is not None, "the server sent nothing"
    return reply, dns.message.from_wire(reply.wire)


def records(section: list[Any]) -> list[str]:
    """A section's records as text lines, sorted."""
    return sorted(line for rrset in section for line in rrset.to_text().splitlines())


def addresses(answer: dns.message.Message) -> list[str]:
    """The A and AAAA addresses in the answer section."""
    return sorted(
        rdata.address
        for rrset in answer.answer
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
        for rdata in rrset
    )

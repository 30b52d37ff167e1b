"""The zone a GeoDNS server is authoritative for: its file, checked, and compiled for answering.

A zone file is TOML (``docs/geodns.md`` has a whole one)::

    origin = "photos.test."
    nsid = "geodns-1"                 # optional: the NSID option's answer (RFC 5001)

    [soa]
    mname = "ns1.photos.test."
    rname = "hostmaster.photos.test."
    minimum = 30                      # the negative-caching TTL (RFC 2308 §5)

    [[ns]]
    name = "ns1.photos.test."
    addresses = ["10.0.0.53"]         # glue, when the name is inside the zone

    [datacenters.us-east]
    addresses = ["10.1.0.10"]
    latitude = 39.0
    longitude = -77.5
    check = "http://10.1.0.10:8080/readyz"

    [services.www]                    # a name answered by where the client is
    policy = "map"                    # or "distance"
    default = ["us-east", "eu-west"]
    continents = { EU = ["eu-west", "us-east"] }
    countries = { GB = ["eu-west", "us-east"] }

    [[records]]                       # plain records, the same for everyone
    name = "static"
    type = "TXT"
    value = '"hello"'

Names are relative to the origin unless they end with a dot. Every problem
is one :class:`~millionscale.errors.ZoneError` naming the line and the key
(:mod:`millionscale.tomlfile`). :func:`compile_zone` turns the checked file
into a :class:`Zone`: immutable rrsets by owner name, the services, the data
centers, ready for :mod:`.authority` to answer from without parsing anything
per query.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from millionscale import tomlfile
from millionscale.errors import ZoneError

__all__ = [
    "DataCenter",
    "Service",
    "Zone",
    "ZoneFile",
    "compile_zone",
    "load_zone",
]

# A TTL is an unsigned 31-bit number (RFC 2181 §8); answers that move users
# between data centers are short, plain records may be long.
MAX_TTL = 2**31 - 1
SERVICE_TTL = 30  # s: Route 53's recommended TTL for health-checked records is 60 s or less
RECORD_TTL = 3600  # s: plain records, the same for everyone
SOA_TIMERS = {"refresh": 3600, "retry": 600, "expire": 604800, "minimum": 30}  # RFC 1912 §2.2
_DC_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_CODE = re.compile(r"^[A-Z]{2}$")
GEO_TYPES = frozenset({dns.rdatatype.A, dns.rdatatype.AAAA})

Ttl = Annotated[int, Field(ge=0, le=MAX_TTL)]
Policy = Literal["map", "distance"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _name(text: str, origin: dns.name.Name | None) -> dns.name.Name:
    """``text`` as a DNS name, relative to ``origin`` unless it ends with a dot."""
    if text == "@":
        if origin is None:
            raise ValueError("'@' needs an origin")
        return origin
    try:
        return dns.name.from_text(text, origin=origin)
    except dns.exception.DNSException as problem:
        raise ValueError(f"{text!r} is not a DNS name: {problem}") from None


def _ip_addresses(addresses: list[str]) -> list[str]:
    """``addresses`` if each is an IP address; ValueError naming the first that is not."""
    for address in addresses:
        ipaddress.ip_address(address)
    return addresses


Addresses = Annotated[list[str], AfterValidator(_ip_addresses)]


class SoaFile(_Strict):
    mname: str
    rname: str
    serial: Annotated[int, Field(ge=0, le=2**32 - 1)] = 1
    refresh: Ttl = SOA_TIMERS["refresh"]
    retry: Ttl = SOA_TIMERS["retry"]
    expire: Ttl = SOA_TIMERS["expire"]
    minimum: Ttl = SOA_TIMERS["minimum"]
    ttl: Ttl = RECORD_TTL


class NsFile(_Strict):
    name: str
    addresses: Addresses = []


class DataCenterFile(_Strict):
    addresses: Annotated[Addresses, Field(min_length=1)]
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    check: str | None = None  # the URL whose 2xx says the data center is up

    @field_validator("check")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _both_or_neither(self) -> DataCenterFile:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class ServiceFile(_Strict):
    policy: Policy = "map"
    ttl: Ttl = SERVICE_TTL
    default: list[str] = Field(min_length=1)
    continents: dict[str, list[str]] = {}
    countries: dict[str, list[str]] = {}

    @field_validator("continents", "countries")
    @classmethod
    def _codes(cls, table: dict[str, list[str]]) -> dict[str, list[str]]:
        for code, fallbacks in table.items():
            if not _CODE.match(code):
                raise ValueError(f"{code!r} is not a two-letter upper-case code")
            if not fallbacks:
                raise ValueError(f"{code}: give at least one data center")
        return table


class RecordFile(_Strict):
    name: str
    type: str
    value: str
    ttl: Ttl = RECORD_TTL


class ZoneFile(_Strict):
    """The zone file as written, checked field by field (see the module's docstring)."""

    origin: str
    nsid: str | None = Field(default=None, max_length=255)
    soa: SoaFile
    ns: list[NsFile] = Field(min_length=1)
    datacenters: dict[str, DataCenterFile] = Field(min_length=1)
    services: dict[str, ServiceFile] = {}
    records: list[RecordFile] = []

    @field_validator("origin")
    @classmethod
    def _origin(cls, origin: str) -> str:
        if not origin.endswith("."):
            raise ValueError(f"{origin!r}: the origin is a full name, ending with a dot")
        _name(origin, None)
        return origin

    @field_validator("datacenters")
    @classmethod
    def _dc_names(cls, datacenters: dict[str, DataCenterFile]) -> dict[str, DataCenterFile]:
        for name in datacenters:
            if not _DC_NAME.match(name):
                raise ValueError(f"{name!r}: a data center's name is [a-z][a-z0-9-]*")
        return datacenters

    @model_validator(mode="after")
    def _known_datacenters(self) -> ZoneFile:
        for service, spec in self.services.items():
            lists = [spec.default, *spec.continents.values(), *spec.countries.values()]
            for name in {dc for fallbacks in lists for dc in fallbacks}:
                if name not in self.datacenters:
                    known = ", ".join(sorted(self.datacenters))
                    raise ValueError(
                        f"services.{service}: unknown data center {name!r} (known: {known})"
                    )
            if spec.policy == "distance":
                unplaced = [n for n in spec.default if self.datacenters[n].latitude is None]
                if unplaced:
                    raise ValueError(
                        f"services.{service}: policy 'distance' needs latitude and longitude"
                        f" for {', '.join(unplaced)}"
                    )
        return self


@dataclass(frozen=True, slots=True)
class DataCenter:
    """A data center answers may point at: its addresses, where it is, its check."""

    name: str
    addresses: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]
    latitude: float | None
    longitude: float | None
    check: str | None


@dataclass(frozen=True, slots=True)
class Service:
    """A name answered by where the client is: the policy and its ordered fallbacks.

    ``countries`` (ISO 3166-1 alpha-2) wins over ``continents`` (the GeoIP
    database's two-letter continent codes), which win over ``default``. Under
    ``distance`` the data centers in ``default`` are ranked by how far they
    are from the client, and the lists are used only where the client's place
    is unknown.
    """

    name: dns.name.Name
    policy: Policy
    ttl: int
    default: tuple[str, ...]
    continents: Mapping[str, tuple[str, ...]]
    countries: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone, compiled: what :class:`~millionscale.geodns.authority.Authority` answers from."""

    origin: dns.name.Name
    soa: dns.rrset.RRset
    negative_ttl: int  # min(SOA TTL, SOA minimum): RFC 2308 §5
    nodes: Mapping[dns.name.Name, Mapping[dns.rdatatype.RdataType, dns.rrset.RRset]]
    services: Mapping[dns.name.Name, Service]
    datacenters: Mapping[str, DataCenter]
    nsid: bytes | None
    # Every name at or above a node, up to the origin: a name there that has
    # no records of its own is an empty non-terminal (NODATA, not NXDOMAIN).
    names: frozenset[dns.name.Name]

    def holds(self, name: dns.name.Name) -> bool:
        """Whether ``name`` is at or under the origin."""
        return name.is_subdomain(self.origin)

    def exists(self, name: dns.name.Name) -> bool:
        """Whether ``name`` owns records, is a service, or is an empty non-terminal."""
        return name in self.names


def _rrset(
    origin: dns.name.Name,
    name: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    ttl: int,
    values: list[str],
) -> dns.rrset.RRset:
    """An rrset of ``values`` in zone-file syntax, names in them relative to ``origin``."""
    rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
    for value in values:
        rdata = dns.rdata.from_text(
            dns.rdataclass.IN, rdtype, value, origin=origin, relativize=False
        )
        rrset.add(rdata, ttl)
    return rrset


def compile_zone(spec: ZoneFile) -> Zone:
    """The :class:`Zone` ``spec`` describes; :class:`ZoneError` for what only shows
    when the names and records are built (a bad rdata, a CNAME beside other data)."""
    origin = _name(spec.origin, None)
    nodes: dict[dns.name.Name, dict[dns.rdatatype.RdataType, dns.rrset.RRset]] = {}

    def add(rrset: dns.rrset.RRset, where: str) -> None:
        if not rrset.name.is_subdomain(origin):
            raise ZoneError(f"{where}: {rrset.name} is outside the zone {origin}")
        node = nodes.setdefault(rrset.name, {})
        if rrset.rdtype in node:
            for rdata in rrset:
                node[rrset.rdtype].add(rdata, rrset.ttl)
        else:
            node[rrset.rdtype] = rrset

    try:
        soa_text = (
            f"{_name(spec.soa.mname, origin)} {_name(spec.soa.rname, origin)} {spec.soa.serial}"
            f" {spec.soa.refresh} {spec.soa.retry} {spec.soa.expire} {spec.soa.minimum}"
        )
        soa = _rrset(origin, origin, dns.rdatatype.SOA, spec.soa.ttl, [soa_text])
        add(soa, "soa")
        ns_names = [_name(ns.name, origin) for ns in spec.ns]
        add(_rrset(origin, origin, dns.rdatatype.NS, RECORD_TTL, [str(n) for n in ns_names]), "ns")
        for i, (ns, ns_name) in enumerate(zip(spec.ns, ns_names, strict=True)):
            if ns.addresses and not ns_name.is_subdomain(origin):
                raise ZoneError(f"ns[{i}]: glue addresses for {ns_name}, which is outside the zone")
            for address in ns.addresses:
                kind = (
                    dns.rdatatype.A
                    if ipaddress.ip_address(address).version == 4
                    else dns.rdatatype.AAAA
                )
                add(_rrset(origin, ns_name, kind, RECORD_TTL, [address]), f"ns[{i}]")
        for i, record in enumerate(spec.records):
            where = f"records[{i}]"
            try:
                rdtype = dns.rdatatype.from_text(record.type)
            except dns.exception.DNSException:
                raise ZoneError(f"{where}.type: {record.type!r} is not a record type") from None
            if dns.rdatatype.is_metatype(rdtype) or rdtype in (
                dns.rdatatype.SOA,
                dns.rdatatype.OPT,
            ):
                raise ZoneError(f"{where}.type: {record.type} cannot be a record of the zone file")
            if rdtype == dns.rdatatype.NS:
                raise ZoneError(
                    f"{where}.type: NS records are the zone's [[ns]]; delegations are not served"
                )
            try:
                rrset = _rrset(
                    origin, _name(record.name, origin), rdtype, record.ttl, [record.value]
                )
            except (dns.exception.DNSException, ValueError) as problem:
                raise ZoneError(
                    f"{where}.value: {record.value!r} is not {record.type}: {problem}"
                ) from None
            add(rrset, where)
        services: dict[dns.name.Name, Service] = {}
        for key, service in spec.services.items():
            name = _name(key, origin)
            if not name.is_subdomain(origin):
                raise ZoneError(f"services.{key}: {name} is outside the zone {origin}")
            services[name] = Service(
                name=name,
                policy=service.policy,
                ttl=service.ttl,
                default=tuple(service.default),
                continents={c: tuple(v) for c, v in service.continents.items()},
                countries={c: tuple(v) for c, v in service.countries.items()},
            )
    except ValueError as problem:  # a bad name
        raise ZoneError(str(problem)) from None
    for name, node in nodes.items():
        if dns.rdatatype.CNAME in node and len(node) > 1:
            raise ZoneError(f"{name}: a CNAME cannot sit beside other records (RFC 1034 §3.6.2)")
        if name in services and (node.keys() & GEO_TYPES or dns.rdatatype.CNAME in node):
            raise ZoneError(f"{name}: a service's A/AAAA answers cannot also be plain records")
    names: set[dns.name.Name] = set()
    for name in [*nodes, *services]:
        while name.is_subdomain(origin) and name not in names:
            names.add(name)
            if name == origin:
                break
            name = name.parent()
    minimum = spec.soa.minimum
    return Zone(
        origin=origin,
        soa=soa,
        negative_ttl=min(spec.soa.ttl, minimum),
        nodes={name: dict(node) for name, node in nodes.items()},
        services=services,
        datacenters={
            name: DataCenter(
                name=name,
                addresses=tuple(ipaddress.ip_address(a) for a in dc.addresses),
                latitude=dc.latitude,
                longitude=dc.longitude,
                check=dc.check,
            )
            for name, dc in spec.datacenters.items()
        },
        nsid=spec.nsid.encode() if spec.nsid is not None else None,
        names=frozenset(names),
    )


EXAMPLE = "topologies/geodns/photos.zone.toml"


def load_zone(path: Path, placed: Mapping[str, Mapping[str, object]] | None = None) -> Zone:
    """The zone in the file at ``path``, checked and compiled; :class:`ZoneError` if not.

    ``placed`` sets keys of named data centers over the file's (``{"us-east":
    {"addresses": ["10.1.0.10"], "check": "http://..."}}``): where a topology
    puts its data centers is known only once it runs, so the server is told on
    its command line (``--address``, ``--check``)."""
    text = tomlfile.read(path, what="zone", example=EXAMPLE, error=ZoneError)
    spec = tomlfile.parse(text, ZoneFile, source=str(path), error=ZoneError)
    for name, keys in (placed or {}).items():
        known = spec.datacenters.get(name)
        if known is None:
            raise ZoneError(
                f"{path} has no data center {name!r} to place",
                hint=f"its data centers: {', '.join(sorted(spec.datacenters)) or 'none'}",
            )
        try:
            spec.datacenters[name] = DataCenterFile.model_validate(known.model_dump() | dict(keys))
        except ValidationError as problem:
            reason = problem.errors(include_url=False)[0]["msg"]
            raise ZoneError(f"data center {name}: {reason}") from None
    return compile_zone(spec)

"""The GeoDNS server's peers, started the way its benchmark runs them, on the same zone.

PowerDNS Authoritative 4.7 with its GeoIP backend and gdnsd 3.8 (Debian's
packages, ``python -m millionscale.servers.install --peers``), each configured
from the same TOML zone as ours (:func:`~millionscale.geodns.zone.load_zone`)
and the same MaxMind DB file, on a loopback port, in a throwaway directory, in
the foreground, stopped by pid. The renderers are pure (a :class:`Zone` in,
text out); the ``start_*`` functions write their output and spawn the server.

**What carries over, and how.** Plain records (SOA, NS with its glue, TXT,
CNAME, ...) are written as they are, with their TTLs. A service's answers are
the *first* data center of each of its lists: the peers are given no health
checks (ours has none either when the zone names no ``check`` URL), so every
data center is healthy and the first of a list is what all three answer.

- **PowerDNS** (:func:`powerdns_zones`, the GeoIP backend's YAML file, written
  as JSON, which is YAML): a ``map`` service is a GeoIP *service* whose
  templates are tried in order, ``%cc.country.NAME``, then
  ``%cn.continent.NAME``, then ``default.NAME``; the first that names a record
  of the zone answers, so the zone gets one hidden record per country and
  continent list (``de.country.www.photos.test``, ...), which ours does not
  have. A ``distance`` service is a Lua record (``enable-lua-records``),
  ``pickclosest()`` over the data centers' addresses: PowerDNS ranks them by
  where the GeoIP database puts *their addresses* (so the database must place
  each data center's address at the zone's coordinates:
  :func:`start_powerdns` checks) and by flat differences of latitude and
  longitude, not great-circle distance, and an unlocated client counts as
  being at (0, 0): clients far apart in longitude (Tokyo: PowerDNS says
  us-east, the great circle eu-west) or not located at all may be answered
  otherwise than by ours and gdnsd. ECS is used (``edns-subnet-processing``).
  Two settings are for speed on the one core it gets, each tried on the
  benchmark's mix: ``enable-lua-records=shared`` (one Lua state per thread; with
  ``yes``, a state per query, PowerDNS answered 9,000 queries/s instead of
  37,000) and ``distributor-threads=1`` (beside the one receiver thread; the
  default 3 gave 38,000-47,000 against 51,000-56,000). Everything else is
  PowerDNS's defaults, the packet cache included (which answered only the
  queries without ECS in trials).
- **gdnsd** (:func:`gdnsd_config`, :func:`gdnsd_zonefile`): each service is a
  ``geoip`` resource (a ``DYNA`` record) on a map of its own: ``map`` lists
  nested continent > country (so a country list needs its continent:
  ``country_continents``), ``datacenters`` in the order of ``default``;
  ``distance`` is gdnsd's city-auto-mode (``auto_dc_coords``: great-circle
  distance from the client's coordinates, the ``datacenters`` order where the
  database has none), as ours. One UDP and one TCP thread (``udp_threads``,
  ``tcp_threads``: the default is 2 each), for its one core.

What still differs, as ``bench/geodns_qps.py``'s answer check finds it: gdnsd
answers a CNAME alone, without following it inside the zone, and gives the SOA
the negative TTL (30 s, not 3,600); gdnsd puts no glue beside the apex NS; the ECS scopes differ (PowerDNS /24 where ours says the database's /8,
gdnsd 0 for a CNAME). The GeoIP file is :func:`~millionscale.geodns.geoip.write_database`'s, whose
records carry the ``accuracy_radius`` PowerDNS needs to read a location.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import maxminddb

from millionscale.errors import ConfigError, ServerStartError
from millionscale.geodns.locate import MaxMindLocator
from millionscale.geodns.zone import Service, Zone, load_zone
from millionscale.servers import free_port
from millionscale.servers.install import peer_program
from millionscale.servers.process import log_tail, spawn, terminate

__all__ = [
    "GDNSD",
    "OURS",
    "POWERDNS",
    "Peer",
    "gdnsd_config",
    "gdnsd_zonefile",
    "powerdns_settings",
    "powerdns_zones",
    "start_gdnsd",
    "start_ours",
    "start_powerdns",
]

OURS, POWERDNS, GDNSD = "ours", "PowerDNS 4.7", "gdnsd 3.8"
READY_TIMEOUT_S = 20.0
PROBE_TIMEOUT_S = 0.5  # one SOA query while waiting for a server to answer
_ADDRESS_TYPES = {4: "A", 6: "AAAA"}


@dataclass
class Peer:
    """A running DNS server: its name, address and process (stop it with :meth:`stop`)."""

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    workdir: Path
    origin: dns.name.Name
    argv: list[str] = field(default_factory=list)
    admin: str = ""  # ours: http://HOST:PORT of /healthz, /readyz, /metrics

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        terminate(self.process, timeout=5)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until it answers the zone's SOA over UDP with NOERROR; else stopped and
        :class:`ServerStartError` with its log's tail."""
        deadline = time.monotonic() + timeout
        last = "nothing yet"
        query = dns.message.make_query(self.origin, dns.rdatatype.SOA)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                last = f"it exited with code {self.process.returncode}"
                break
            try:
                answer = dns.query.udp(query, self.host, PROBE_TIMEOUT_S, port=self.port)
                if answer.rcode() == dns.rcode.NOERROR and answer.answer:
                    return
                last = f"rcode {dns.rcode.to_text(answer.rcode())}"
            except (dns.exception.DNSException, OSError) as error:
                last = f"{type(error).__name__}: {error}"
                time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"{self.name} did not answer {self.origin} SOA on {self.host}:{self.port}: {last}",
            hint=f"read {self.log}",
            log_tail=log_tail(self.log),
        )


def _text(name: dns.name.Name) -> str:
    return name.to_text()  # absolute, with its dot


def _addresses(zone: Zone, datacenter: str) -> dict[str, list[str]]:
    """A data center's addresses by record type (A, AAAA)."""
    found: dict[str, list[str]] = {}
    for address in zone.datacenters[datacenter].addresses:
        found.setdefault(_ADDRESS_TYPES[address.version], []).append(str(address))
    return found


def _static_records(zone: Zone) -> dict[dns.name.Name, list[tuple[str, int, str]]]:
    """Every plain record of the zone: (type, TTL, value in zone-file syntax) by owner."""
    return {
        name: [
            (dns.rdatatype.to_text(rdtype), rrset.ttl, rdata.to_text())
            for rdtype, rrset in node.items()
            for rdata in rrset
        ]
        for name, node in zone.nodes.items()
    }


# -- PowerDNS -----------------------------------------------------------------


def _powerdns_map(service: Service, zone: Zone) -> tuple[list[str], dict[str, list[Any]]]:
    """A ``map`` service as GeoIP-backend templates, and the hidden records they name."""
    name = _text(service.name)
    templates: list[str] = []
    records: dict[str, list[Any]] = {}

    def answer(owner: str, datacenter: str) -> None:
        records[owner] = [
            {kind.lower(): {"content": value, "ttl": service.ttl}}
            for kind, values in _addresses(zone, datacenter).items()
            for value in values
        ]

    for kind, table in (("country", service.countries), ("continent", service.continents)):
        if table:
            placeholder = "%cc" if kind == "country" else "%cn"
            templates.append(f"{placeholder}.{kind}.{name}")
            for code, fallbacks in sorted(table.items()):
                answer(f"{code.lower()}.{kind}.{name}", fallbacks[0])
    templates.append(f"default.{name}")
    answer(f"default.{name}", service.default[0])
    return templates, records


def _powerdns_distance(service: Service, zone: Zone) -> list[Any]:
    """A ``distance`` service as Lua records: ``pickclosest`` over the data centers' addresses."""
    candidates: dict[str, list[str]] = {}
    for datacenter in service.default:
        for kind, values in _addresses(zone, datacenter).items():
            candidates.setdefault(kind, []).extend(values)
    records = []
    for kind, values in candidates.items():
        listed = ", ".join(f"'{value}'" for value in values)
        records.append(
            {"lua": {"content": f'{kind} "pickclosest({{{listed}}})"', "ttl": service.ttl}}
        )
    return records


def powerdns_zones(zone: Zone) -> str:
    """The GeoIP backend's zones file (``geoip-zones-file``) for ``zone``, as JSON (which
    YAML reads): its records, and its services as the module's docstring says."""
    records: dict[str, list[Any]] = {}
    for owner, entries in _static_records(zone).items():
        records[_text(owner)] = [
            {kind.lower(): {"content": value, "ttl": ttl}} for kind, ttl, value in entries
        ]
    services: dict[str, list[str]] = {}
    for service in zone.services.values():
        if service.policy == "distance":
            records.setdefault(_text(service.name), []).extend(_powerdns_distance(service, zone))
        else:
            templates, hidden = _powerdns_map(service, zone)
            services[_text(service.name)] = templates
            records |= hidden
    domain = {
        "domain": _text(zone.origin),
        "ttl": zone.soa.ttl,
        "records": records,
        "services": services,
    }
    return json.dumps({"domains": [domain]}, indent=2) + "\n"


def powerdns_settings(
    workdir: Path, zones_file: Path, geoip: Path, host: str, port: int
) -> list[str]:
    """pdns_server's flags: the GeoIP backend on ``zones_file`` and ``geoip``, ECS and Lua
    records on, one distributor thread, in the foreground, everything it writes in
    ``workdir``, and no traffic but the queries it answers (no security poll, no web
    server)."""
    return [
        f"--config-dir={workdir}",
        f"--socket-dir={workdir}",
        "--daemon=no",
        "--guardian=no",
        "--disable-syslog",
        "--write-pid=no",
        f"--local-address={host}",
        f"--local-port={port}",
        "--launch=geoip",
        f"--geoip-zones-file={zones_file}",
        f"--geoip-database-files=mmdb:{geoip}",
        "--edns-subnet-processing=yes",
        "--enable-lua-records=shared",  # one Lua state per thread, not one per query
        "--distributor-threads=1",  # with the one receiver thread: sized for one core
        "--security-poll-suffix=",
        "--webserver=no",
        "--loglevel=4",
    ]


def _check_datacenter_places(zone: Zone, geoip: Path) -> None:
    """PowerDNS's ``pickclosest`` places data centers by their addresses in the GeoIP
    database: each ``distance`` service's data centers must be there, where the zone says."""
    locator = MaxMindLocator(geoip)
    reader = maxminddb.open_database(str(geoip))
    try:
        for service in zone.services.values():
            if service.policy != "distance":
                continue
            for name in service.default:
                dc = zone.datacenters[name]
                for address in dc.addresses:
                    place = locator.locate(address)
                    at = None if place is None else (place.latitude, place.longitude)
                    if at is None or at[0] is None or at[1] is None:
                        raise ConfigError(
                            f"{geoip} does not place {name}'s address {address}",
                            hint="write the data centers' addresses into the GeoIP database "
                            "at the zone's coordinates (PowerDNS's pickclosest reads them there)",
                        )
                    record = reader.get(address)
                    location = record.get("location") if isinstance(record, dict) else None
                    if not isinstance(location, dict) or "accuracy_radius" not in location:
                        raise ConfigError(
                            f"{geoip} gives {name}'s address {address} no accuracy_radius, "
                            "and PowerDNS reads no location without one",
                            hint="write the database with millionscale.geodns.geoip.write_database",
                        )
                    assert dc.latitude is not None  # the zone requires both under distance
                    assert dc.longitude is not None
                    if abs(at[0] - dc.latitude) > 0.01 or abs(at[1] - dc.longitude) > 0.01:
                        raise ConfigError(
                            f"{geoip} places {name}'s address {address} at {at}, "
                            f"not at the zone's ({dc.latitude}, {dc.longitude})",
                            hint="write the zone's coordinates for it into the GeoIP database",
                        )
    finally:
        reader.close()
        locator.close()


def start_powerdns(
    zone_file: Path,
    geoip: Path,
    workdir: Path,
    *,
    cpus: Sequence[int] | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
) -> Peer:
    """pdns_server with the GeoIP backend serving ``zone_file`` (not yet ready:
    :meth:`Peer.wait_ready`)."""
    pdns = peer_program("pdns_server")
    zone = load_zone(zone_file)
    _check_datacenter_places(zone, geoip)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "pdns.conf").write_text("# every setting is on the command line\n")
    zones_file = workdir / "geoip-zones.yaml"
    zones_file.write_text(powerdns_zones(zone))
    listen = port or free_port(host)
    argv = [pdns, *powerdns_settings(workdir, zones_file, geoip, host, listen)]
    log = workdir / "pdns.log"
    process = spawn(argv, log_path=log, cpus=cpus)
    return Peer(POWERDNS, host, listen, process, log, workdir, zone.origin, argv)


# -- gdnsd --------------------------------------------------------------------


def _quoted(text: str) -> str:
    return json.dumps(text)  # vscf's double-quoted strings escape as JSON's do


def _dclist(names: Sequence[str]) -> str:
    return "[ " + ", ".join(_quoted(n) for n in names) + " ]"


def _used(service: Service) -> list[str]:
    """The data centers a service names: ``default``'s, then the others in the order met."""
    lists = [service.default, *service.continents.values(), *service.countries.values()]
    return list(dict.fromkeys(name for fallbacks in lists for name in fallbacks))


def _gdnsd_map(service: Service, geoip: Path, country_continents: Mapping[str, str]) -> str:
    lines = [
        f"      geoip2_db => {_quoted(str(geoip))}",
        f"      datacenters => {_dclist(_used(service))}",
    ]
    nested: dict[str, dict[str, Sequence[str]]] = {}
    for continent, fallbacks in service.continents.items():
        nested.setdefault(continent, {})["default"] = fallbacks
    for country, fallbacks in service.countries.items():
        if country not in country_continents:
            raise ConfigError(
                f"services.{service.name}: gdnsd nests countries in continents, "
                f"and the continent of {country} is not known",
                hint="give the country's continent in country_continents",
            )
        nested.setdefault(country_continents[country], {})[country] = fallbacks
    entries = [f"        default => {_dclist(service.default)}"]
    for continent, table in sorted(nested.items()):
        if list(table) == ["default"]:
            entries.append(f"        {continent} => {_dclist(table['default'])}")
        else:
            inner = ", ".join(f"{code} => {_dclist(v)}" for code, v in sorted(table.items()))
            entries.append(f"        {continent} => {{ {inner} }}")
    lines.append("      map => {\n" + "\n".join(entries) + "\n      }")
    return "\n".join(lines)


def _gdnsd_auto_map(service: Service, zone: Zone, geoip: Path) -> str:
    coords = []
    for name in service.default:
        dc = zone.datacenters[name]
        coords.append(f"        {_quoted(name)} => [ {dc.latitude}, {dc.longitude} ]")
    return "\n".join(
        [
            f"      geoip2_db => {_quoted(str(geoip))}",
            f"      datacenters => {_dclist(service.default)}",
            "      auto_dc_coords => {\n" + "\n".join(coords) + "\n      }",
        ]
    )


def _resource_label(service: Service, zone: Zone) -> str:
    """The resource's name: the service's name relative to the origin, dots as underscores."""
    return service.name.relativize(zone.origin).to_text().replace(".", "_")


def gdnsd_config(
    zone: Zone,
    geoip: Path,
    workdir: Path,
    host: str,
    port: int,
    *,
    country_continents: Mapping[str, str] | None = None,
) -> str:
    """gdnsd's ``config`` file: listening on ``host``:``port`` only, its run and state
    directories in ``workdir``, and a ``geoip`` map and resource per service."""
    maps, resources = [], []
    for service in zone.services.values():
        label = _resource_label(service, zone)
        if service.policy == "distance":
            body = _gdnsd_auto_map(service, zone, geoip)
            used = list(service.default)
        else:
            body = _gdnsd_map(service, geoip, country_continents or {})
            used = _used(service)
        maps.append(f"    {label} => {{\n{body}\n    }}")
        dcmap = []
        for name in used:
            addresses = [str(a) for a in zone.datacenters[name].addresses]
            dcmap.append(f"          {_quoted(name)} => {_dclist(addresses)}")
        resources.append(
            f"    {label} => {{\n      map => {label}\n      dcmap => {{\n"
            + "\n".join(dcmap)
            + "\n      }\n    }"
        )
    listen = f"[{host}]:{port}" if ipaddress.ip_address(host).version == 6 else f"{host}:{port}"
    return (
        "options => {\n"
        f"  listen => [ {_quoted(listen)} ]\n"
        "  udp_threads => 1\n"
        "  tcp_threads => 1\n"
        f"  run_dir => {_quoted(str(workdir / 'run'))}\n"
        f"  state_dir => {_quoted(str(workdir / 'state'))}\n"
        "}\n"
        "plugins => {\n  geoip => {\n  maps => {\n"
        + "\n".join(maps)
        + "\n  }\n  resources => {\n"
        + "\n".join(resources)
        + "\n  }\n  }\n}\n"
    )


def gdnsd_zonefile(zone: Zone) -> str:
    """The zone as an RFC 1035 zone file for gdnsd: its records, and a ``DYNA`` record
    per service (the resource of :func:`gdnsd_config`). The SOA comes first."""
    lines = [f"$ORIGIN {_text(zone.origin)}"]
    records = _static_records(zone)
    ordered = sorted(records, key=lambda name: (name != zone.origin, name))
    for owner in ordered:
        entries = sorted(records[owner], key=lambda entry: entry[0] != "SOA")
        for kind, ttl, value in entries:
            lines.append(f"{_text(owner)} {ttl} {kind} {value}")
    for service in zone.services.values():
        label = _resource_label(service, zone)
        lines.append(f"{_text(service.name)} {service.ttl} DYNA geoip!{label}")
    return "\n".join(lines) + "\n"


def start_gdnsd(
    zone_file: Path,
    geoip: Path,
    workdir: Path,
    *,
    cpus: Sequence[int] | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
    country_continents: Mapping[str, str] | None = None,
) -> Peer:
    """gdnsd in the foreground (``start``) serving ``zone_file`` (not yet ready:
    :meth:`Peer.wait_ready`)."""
    gdnsd = peer_program("gdnsd")
    zone = load_zone(zone_file)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "zones").mkdir(exist_ok=True)
    listen = port or free_port(host)
    (workdir / "config").write_text(
        gdnsd_config(zone, geoip, workdir, host, listen, country_continents=country_continents)
    )
    (workdir / "zones" / zone.origin.to_text(omit_final_dot=True)).write_text(gdnsd_zonefile(zone))
    argv = [gdnsd, "-c", str(workdir), "start"]
    log = workdir / "gdnsd.log"
    process = spawn(argv, log_path=log, cpus=cpus)
    return Peer(GDNSD, host, listen, process, log, workdir, zone.origin, argv)


# -- ours ---------------------------------------------------------------------


def start_ours(
    zone_file: Path,
    geoip: Path,
    workdir: Path,
    *,
    cpus: Sequence[int] | None = None,
    port: int | None = None,
    host: str = "127.0.0.1",
) -> Peer:
    """``python -m millionscale.geodns`` on ``zone_file`` and ``geoip``, its admin port
    on a free port (not yet ready: :meth:`Peer.wait_ready`)."""
    zone = load_zone(zone_file)
    workdir.mkdir(parents=True, exist_ok=True)
    listen, admin = port or free_port(host), free_port(host)
    argv = [sys.executable, "-m", "millionscale.geodns", "--zone", str(zone_file),
            "--geoip", str(geoip), "--host", host, "--port", str(listen),
            "--admin-port", str(admin)]  # fmt: skip
    log = workdir / "geodns.log"
    process = spawn(argv, log_path=log, cpus=cpus)
    return Peer(
        OURS, host, listen, process, log, workdir, zone.origin, argv, f"http://{host}:{admin}"
    )

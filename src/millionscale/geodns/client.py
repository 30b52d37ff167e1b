"""What a user at an address is answered: asked of a server, or worked out from a zone file.

``millionscale dns query NAME --from IP`` is built on these two:

- :func:`ask_server` sends the query to a running server (UDP, or TCP; a
  truncated UDP answer is asked again over TCP, as a resolver would) with
  ``IP`` in an EDNS Client Subnet option (its /24, or /56 for IPv6: what
  public resolvers send), so the server answers as it would for that user;
- :func:`explain` answers from the zone file and GeoIP database alone, with no
  server, through the same :class:`~millionscale.geodns.authority.Authority`,
  and says why: where the database puts the address and which data center the
  policy picked.

:class:`UserResolver` is a simulated user's resolver, for load and fault tests
and benchmarks: it asks with the user's subnet and keeps each answer for its
TTL, as a caching resolver does (RFC 1035 §7.4), so that users move to another
data center only as fast as the TTL lets them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dns.asyncquery
import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from millionscale.errors import ConfigError
from millionscale.geodns.authority import Authority
from millionscale.geodns.geoip import open_locator
from millionscale.geodns.locate import Address, Location
from millionscale.geodns.policy import Choice, choose
from millionscale.geodns.zone import load_zone

__all__ = ["Asked", "UserResolver", "ask_server", "client_subnet", "explain", "query_for"]

ECS_PREFIX = {4: 24, 6: 56}  # what public resolvers send (RFC 7871 §11.1 recommends these)


@dataclass(frozen=True, slots=True)
class Asked:
    """An answer, as people read it."""

    rcode: str
    authoritative: bool
    truncated_over_udp: bool
    transport: str
    records: tuple[str, ...]  # answer section, one line each
    authority: tuple[str, ...]
    scope: int | None  # the ECS scope the server stated (None: no option in the reply)
    elapsed_ms: float
    location: Location | None = None  # explain() only
    choice: Choice | None = None  # explain() only, for a service


def client_subnet(address: Address) -> dns.edns.ECSOption:
    prefix = ECS_PREFIX[address.version]
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return dns.edns.ECSOption(str(network.network_address), prefix)


def query_for(name: str, rdtype: str, source: Address | None) -> dns.message.Message:
    """The query for ``name``/``rdtype``, with ``source``'s subnet if given; ConfigError
    for a bad name or type."""
    try:
        kind = dns.rdatatype.from_text(rdtype)
        options: list[dns.edns.Option] = [client_subnet(source)] if source is not None else []
        return dns.message.make_query(name, kind, use_edns=0, options=options, want_dnssec=False)
    except (dns.exception.DNSException, ValueError) as error:
        raise ConfigError(f"cannot ask for {name!r} {rdtype!r}: {error}") from None


def _read(reply: dns.message.Message, transport: str, truncated: bool, elapsed: float) -> Asked:
    ecs = next((o for o in reply.options if isinstance(o, dns.edns.ECSOption)), None)
    return Asked(
        rcode=dns.rcode.to_text(reply.rcode()),
        authoritative=bool(reply.flags & dns.flags.AA),
        truncated_over_udp=truncated,
        transport=transport,
        records=tuple(line for rrset in reply.answer for line in rrset.to_text().splitlines()),
        authority=tuple(line for rrset in reply.authority for line in rrset.to_text().splitlines()),
        scope=ecs.scopelen if ecs is not None else None,
        elapsed_ms=elapsed * 1000,
    )


def ask_server(
    host: str, port: int, query: dns.message.Message, *, tcp: bool = False, timeout_s: float = 3.0
) -> Asked:
    """``query`` asked of the server at ``host``:``port``; ConfigError if it does not answer."""
    start = time.monotonic()
    truncated = False
    try:
        if not tcp:
            reply = dns.query.udp(query, host, port=port, timeout=timeout_s)
            truncated = bool(reply.flags & dns.flags.TC)
        if tcp or truncated:
            reply = dns.query.tcp(query, host, port=port, timeout=timeout_s)
    except dns.exception.Timeout:
        raise ConfigError(
            f"no answer from {host}:{port} within {timeout_s:g} s",
            hint="is a GeoDNS server running there? give --server HOST:PORT",
        ) from None
    except (OSError, dns.exception.DNSException) as error:
        raise ConfigError(f"asking {host}:{port} failed: {error}") from None
    transport = "tcp" if tcp or truncated else "udp"
    return _read(reply, transport, truncated, time.monotonic() - start)


def explain(
    zone_path: Path, geoip: Path | None, query: dns.message.Message, source: Address
) -> Asked:
    """The answer the zone gives ``query`` from ``source``, worked out here, and why."""
    zone = load_zone(zone_path)
    locator = open_locator(geoip)
    try:
        start = time.monotonic()
        reply = Authority(zone, locator).respond(query.to_wire(), source, "tcp")
        assert reply is not None  # a query we built: never dropped
        asked = _read(dns.message.from_wire(reply.wire), "none", False, time.monotonic() - start)
        location = locator.locate(source) if locator is not None else None
        service = zone.services.get(query.question[0].name)
        choice = (
            choose(service, location, frozenset(zone.datacenters), zone.datacenters)
            if service is not None
            else None
        )
    finally:
        if locator is not None:
            locator.close()
    return dataclasses.replace(asked, location=location, choice=choice)


@dataclass(slots=True)
class UserResolver:
    """The resolver of a user at ``source``: ``name``'s first address, asked of the
    server at ``host``:``port`` with ``source``'s subnet (ECS), kept for the answer's TTL.

    :meth:`address` answers from the cache while the TTL lasts; then it asks
    again (``timeout_s`` at most). When the server does not answer, the last
    address is kept (resolvers serve stale, RFC 8767) and ``failures`` counts it.
    """

    host: str
    port: int
    source: Address
    name: str
    timeout_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    cached: str | None = None
    expires_at: float = field(default=float("-inf"))
    asked: int = 0
    failures: int = 0

    async def address(self) -> str | None:
        """The address to use now; None if none was ever had."""
        now = self.clock()
        if self.cached is not None and now < self.expires_at:
            return self.cached
        query = query_for(self.name, "A", self.source)
        self.asked += 1
        try:
            reply = await dns.asyncquery.udp(
                query, self.host, port=self.port, timeout=self.timeout_s
            )
        except (dns.exception.DNSException, OSError):
            self.failures += 1
            return self.cached
        rrset = next((r for r in reply.answer if r.rdtype == dns.rdatatype.A), None)
        if rrset is None or not len(rrset):
            self.failures += 1
            return self.cached
        self.cached = rrset[0].to_text()
        self.expires_at = self.clock() + rrset.ttl
        return self.cached

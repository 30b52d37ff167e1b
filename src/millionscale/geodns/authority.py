"""The authoritative answer to one DNS query, sans-IO: bytes and a source address in,
bytes (or nothing) out.

:meth:`Authority.respond` is all the server's shell calls. It never raises and
never blocks: every packet gets an answer or, where answering would be wrong,
none. The rules, and where they come from:

- **Not answered**: fewer than the header's 12 bytes (no ID to answer to), and
  any message with QR set (a response: answering it could loop two servers).
- **FORMERR** for what does not parse (RFC 1035 §4.1.1), for a QDCOUNT other
  than 1 (RFC 9619), for a bad EDNS Client Subnet option (RFC 7871 §7.1.2)
  and for a query type that only lives in the additional section (OPT, TSIG);
  the reply is the bare header when the message could not be read.
- **NOTIMP** for an opcode other than QUERY (RFC 1035 §4.1.1); **NOTAUTH** for
  a TSIG-signed query, since this server holds no keys (RFC 8945 §5.2).
- **BADVERS** for an EDNS version above 0, with an OPT of version 0 (RFC 6891
  §6.1.3); options it does not know are ignored (§6.1.2); the OPT is echoed
  with this server's payload size, and NSID answered where the zone names one
  (RFC 5001).
- **REFUSED**, without AA, for a name outside the zone or a class other than
  IN (the server is authoritative for one zone of class IN), and for zone
  transfers (AXFR, IXFR: not offered).
- **Authoritative answers** (AA set, RA never): the records at the name; a
  CNAME followed inside the zone; the apex's NS with glue; a *service*'s A or
  AAAA from the data center :func:`~millionscale.geodns.policy.choose` picks.
  A name with no records of the type is NODATA (NOERROR, no answer) and a
  name that does not exist NXDOMAIN, both with the zone's SOA in the
  authority section at the negative TTL, min(SOA TTL, SOA MINIMUM) (RFC 2308
  §3, §5). A name above an existing one is an empty non-terminal: NODATA, not
  NXDOMAIN (RFC 8020). ``ANY`` is answered with every rrset at the name.
- **Size**: over UDP the reply fits 512 bytes, or the client's EDNS payload
  size capped at :data:`OUR_PAYLOAD` (values under 512 count as 512, RFC
  6891 §6.2.5); a reply that does not fit is sent with TC set and its answer,
  authority and additional sections empty, and the client asks again over
  TCP (RFC 1035 §4.2.1, RFC 7766), where up to 65,535 bytes go.
- **The client's location** comes from the EDNS Client Subnet option when the
  query has one with a source prefix above 0, else from the source address.
  An ECS option is echoed with the scope the answer holds for: for a service
  chosen by location, the shorter of the source prefix and the database
  network's prefix; 0 for an answer that does not depend on the address
  (RFC 7871 §7.2.1).
- **SERVFAIL** if building the answer raised: a bug, never a silent drop.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import struct
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from millionscale.geodns.fast import (
    QUESTION_NAME,
    Common,
    canonical,
    encode_rrset,
    opt_record,
    read_common,
)
from millionscale.geodns.locate import Address, Location, Locator
from millionscale.geodns.policy import Choice, choose
from millionscale.geodns.zone import Service, Zone

__all__ = ["OUR_PAYLOAD", "Authority", "AuthorityStatistics", "Reply", "Transport"]

Transport = Literal["udp", "tcp"]

HEADER = struct.Struct("!HHHHHH")
MIN_UDP_PAYLOAD = 512  # RFC 1035 §2.3.4; RFC 6891 §6.2.5: smaller EDNS sizes count as 512
OUR_PAYLOAD = 1232  # DNS Flag Day 2020: fits a 1280-byte IPv6 MTU without fragments
TCP_MAX = 65535  # RFC 1035 §4.2.2: the two-byte length prefix
MAX_CNAME_CHAIN = 8  # a loop in the zone file ends here
CACHE_ENTRIES = 65536  # replies kept: ~10 MB at most, far more names x resolvers than a zone has
_QR = 0x8000
_AA = 0x0400
_CD = 0x0010
_OPCODE_SHIFT = 11
_RD = 0x0100
_NOT_QUERIES = frozenset({dns.rdatatype.OPT, dns.rdatatype.TSIG, dns.rdatatype.TKEY})
_TRANSFERS = frozenset({dns.rdatatype.AXFR, dns.rdatatype.IXFR})
# Types the fast path leaves to the full one: meta types, ANY, transfers.
_FULL_PATH_TYPES = frozenset(
    {*_NOT_QUERIES, *_TRANSFERS, dns.rdatatype.ANY, dns.rdatatype.MAILA, dns.rdatatype.MAILB}
)
_ADDRESS_TYPES = {4: dns.rdatatype.A, 6: dns.rdatatype.AAAA}


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send back, and what the metrics count of it."""

    wire: bytes
    rcode: str  # dns.rcode's name: NOERROR, NXDOMAIN, FORMERR, BADVERS...
    datacenter: str | None  # the data center a service's answer pointed at
    truncated: bool
    problem: str | None = None  # SERVFAIL's cause, for the shell's log


@dataclass(frozen=True, slots=True)
class AuthorityStatistics:
    queries: int  # packets given to respond()
    cache_hits: int  # of them, answered from the packet cache
    dropped: int  # those not answered (too short, or a response)
    truncated: int
    rcodes: Mapping[str, int]
    datacenters: Mapping[str, int]  # service answers by data center


def _bare(header: bytes, rcode: int) -> bytes:
    """A header-only reply to a message whose header is all that could be read."""
    ident, flags = struct.unpack_from("!HH", header)
    opcode = (flags >> _OPCODE_SHIFT) & 0xF
    reply_flags = _QR | (opcode << _OPCODE_SHIFT) | (flags & _RD) | (rcode & 0xF)
    return HEADER.pack(ident, reply_flags, 0, 0, 0, 0)


def _common_udp_limit(common: Common) -> int:
    if not common.edns:
        return MIN_UDP_PAYLOAD
    return max(MIN_UDP_PAYLOAD, min(common.payload, OUR_PAYLOAD))


@dataclass(frozen=True, slots=True)
class _FastNode:
    """What the fast path needs of a name: its rrsets on the wire, by type."""

    rrsets: dict[int, tuple[int, bytes]]  # owned by the question's name (a pointer)
    objects: dict[int, dns.rrset.RRset]  # the same, to render under another owner
    service: Service | None
    cname: bytes | None  # the CNAME's target, canonical
    apex: bool


def _fast_nodes(zone: Zone) -> dict[bytes, _FastNode]:
    return {
        canonical(name): _FastNode(
            rrsets={
                rdtype: encode_rrset(rrset) for rdtype, rrset in zone.nodes.get(name, {}).items()
            },
            objects={int(t): rrset for t, rrset in zone.nodes.get(name, {}).items()},
            service=zone.services.get(name),
            cname=(
                canonical(zone.nodes[name][dns.rdatatype.CNAME][0].target)
                if dns.rdatatype.CNAME in zone.nodes.get(name, {})
                else None
            ),
            apex=name == zone.origin,
        )
        for name in zone.names
    }


def _glue_of(zone: Zone) -> tuple[int, bytes]:
    """The apex NS's glue on the wire, in the full path's order: each NS, A then AAAA."""
    parts = [
        encode_rrset(node[rdtype], owner=canonical(record.target))
        for record in zone.nodes[zone.origin][dns.rdatatype.NS]
        for node in [zone.nodes.get(record.target, {})]
        for rdtype in _ADDRESS_TYPES.values()
        if rdtype in node
    ]
    return sum(n for n, _ in parts), b"".join(data for _, data in parts)


def _udp_limit(query: dns.message.Message) -> int:
    if query.edns < 0:
        return MIN_UDP_PAYLOAD
    return max(MIN_UDP_PAYLOAD, min(query.payload, OUR_PAYLOAD))


def _ecs_of(query: dns.message.Message) -> dns.edns.ECSOption | None:
    return next((o for o in query.options if isinstance(o, dns.edns.ECSOption)), None)


def _wants_nsid(query: dns.message.Message) -> bool:
    return any(o.otype == dns.edns.OptionType.NSID for o in query.options)


class Authority:
    """Answers for one :class:`~millionscale.geodns.zone.Zone` (see the module's rules).

    ``locator`` says where clients are (``None``: nobody is located, every
    service answers from its ``default`` list). Replies are kept in a packet
    cache of ``cache_entries`` (0: none), keyed by the query's bytes, its
    source and transport, emptied when the healthy set changes. ``fast`` answers
    queries of the common shape at the byte level (:mod:`.fast`), the same
    answers the full path gives. Which data centers are healthy
    comes from :meth:`set_healthy`, which the health checker's shell calls; all
    of them are until it says otherwise.
    """

    def __init__(
        self,
        zone: Zone,
        locator: Locator | None = None,
        *,
        cache_entries: int = CACHE_ENTRIES,
        fast: bool = True,
    ) -> None:
        self.zone = zone
        self._locator = locator
        self._healthy = frozenset(zone.datacenters)
        self._negative_soa = dns.rrset.from_rdata(zone.origin, zone.negative_ttl, *zone.soa)
        self._service_rrsets = {
            (name, dc): {
                rdtype: dns.rrset.from_text_list(name, service.ttl, "IN", rdtype, values)
                for version, rdtype in _ADDRESS_TYPES.items()
                if (
                    values := [
                        str(a) for a in zone.datacenters[dc].addresses if a.version == version
                    ]
                )
            }
            for name, service in zone.services.items()
            for dc in zone.datacenters
        }
        # The packet cache: (query without its ID, source, transport) -> the reply
        # without its ID. A reply depends on nothing else while the zone and the
        # healthy set stay (TTLs of an authoritative answer do not count down), so
        # it is emptied when the healthy set changes; past cache_entries the oldest
        # entry goes. PowerDNS keeps one too (its packet cache).
        self._cache: OrderedDict[tuple[bytes, Address, Transport], Reply] = OrderedDict()
        self._cache_entries = cache_entries
        self._hits = 0
        self._fast = fast
        self._fast_nodes = _fast_nodes(zone)
        self._fast_services: dict[tuple[bytes, str, int], tuple[int, bytes]] = {
            (canonical(name), dc, rdtype): encode_rrset(rrset)
            for (name, dc), rrsets in self._service_rrsets.items()
            for rdtype, rrset in rrsets.items()
        }
        self._fast_negative = encode_rrset(self._negative_soa, owner=canonical(zone.origin))
        self._fast_origin = canonical(zone.origin)
        self._fast_glue = _glue_of(zone)
        self._queries = self._dropped = self._truncated = 0
        self._rcodes: Counter[str] = Counter()
        self._datacenters: Counter[str] = Counter()

    @property
    def healthy(self) -> frozenset[str]:
        return self._healthy

    def set_healthy(self, names: Iterable[str]) -> None:
        """The data centers answers may point at from now on (unknown names are ignored)."""
        healthy = frozenset(names) & frozenset(self.zone.datacenters)
        if healthy != self._healthy:
            self._healthy = healthy
            self._cache.clear()

    def statistics(self) -> AuthorityStatistics:
        return AuthorityStatistics(
            queries=self._queries,
            cache_hits=self._hits,
            dropped=self._dropped,
            truncated=self._truncated,
            rcodes=dict(self._rcodes),
            datacenters=dict(self._datacenters),
        )

    def respond(self, wire: bytes, source: Address, transport: Transport) -> Reply | None:
        """The reply to the query ``wire`` from ``source``; ``None``: send nothing."""
        self._queries += 1
        key = (wire[2:], source, transport)
        cached = self._cache.get(key)
        if cached is not None:
            self._hits += 1
            reply = dataclasses.replace(cached, wire=wire[:2] + cached.wire)
        else:
            fresh = self._respond(wire, source, transport)
            if fresh is None:
                self._dropped += 1
                return None
            self._keep(key, fresh)
            reply = fresh
        self._rcodes[reply.rcode] += 1
        self._truncated += reply.truncated
        if reply.datacenter is not None:
            self._datacenters[reply.datacenter] += 1
        return reply

    def _keep(self, key: tuple[bytes, Address, Transport], reply: Reply) -> None:
        if reply.problem is not None or self._cache_entries == 0:
            return  # a SERVFAIL is a bug's: asked again, it is logged again
        if len(self._cache) >= self._cache_entries:
            self._cache.popitem(last=False)  # the oldest: O(1), where a dict's first key is not
        self._cache[key] = dataclasses.replace(reply, wire=reply.wire[2:])

    def _respond(self, wire: bytes, source: Address, transport: Transport) -> Reply | None:
        if len(wire) < HEADER.size:
            return None
        (flags,) = struct.unpack_from("!H", wire, 2)
        if flags & _QR:
            return None
        if (flags >> _OPCODE_SHIFT) & 0xF != dns.opcode.QUERY:
            return Reply(_bare(wire, dns.rcode.NOTIMP), "NOTIMP", None, False)
        if self._fast:
            try:
                common = read_common(wire)
                fast = self._fast_answer(common, source, transport) if common else None
            except Exception as bug:
                problem = f"{type(bug).__name__}: {bug}"
                return Reply(_bare(wire, dns.rcode.SERVFAIL), "SERVFAIL", None, False, problem)
            if fast is not None:
                return fast
        try:
            query = dns.message.from_wire(wire)
        except dns.message.UnknownTSIGKey:
            return Reply(_bare(wire, dns.rcode.NOTAUTH), "NOTAUTH", None, False)
        except Exception:  # anything dnspython cannot read is the client's error
            return Reply(_bare(wire, dns.rcode.FORMERR), "FORMERR", None, False)
        if len(query.question) != 1:
            return Reply(_bare(wire, dns.rcode.FORMERR), "FORMERR", None, False)
        try:
            return self._answer(query, source, transport)
        except Exception as bug:  # ours: say so to the client rather than go silent
            problem = f"{type(bug).__name__}: {bug}"
            return Reply(_bare(wire, dns.rcode.SERVFAIL), "SERVFAIL", None, False, problem)

    def _in_zone(self, name: bytes) -> bool:
        """Whether the canonical wire name ``name`` is at or under the origin."""
        at = 0
        while at < len(name):
            if name[at:] == self._fast_origin:
                return True
            at += name[at] + 1
        return False

    def _fast_answer(self, common: Common, source: Address, transport: Transport) -> Reply | None:
        """The reply to a :class:`~.fast.Common` query, or ``None``: the full path's to make."""
        qtype = common.qtype
        if qtype in _FULL_PATH_TYPES:
            return None
        key = common.qname.lower()
        node = self._fast_nodes.get(key)
        if node is None and not self._in_zone(key):
            return None  # REFUSED: the full path's
        answers: list[tuple[int, bytes]] = []
        owner = QUESTION_NAME  # the answer's owner: the name asked, or a CNAME's target
        if node is not None and node.cname is not None and qtype != dns.rdatatype.CNAME:
            answers.append(node.rrsets[dns.rdatatype.CNAME])
            target = node.cname
            if not self._in_zone(target):
                return self._fast_reply(common, transport, answers, None, (0, b""), 0)
            node = self._fast_nodes.get(target)
            if node is not None and node.cname is not None:
                return None  # a longer chain: the full path's
            key, owner = target, target
        datacenter: str | None = None
        scope = 0
        found: dns.rrset.RRset | None = None
        glue = (0, b"")
        if node is not None and node.service is not None and qtype in _ADDRESS_TYPES.values():
            ecs = common.ecs
            location, prefix = self._locate(ecs[3] if ecs else None, ecs[1] if ecs else 0, source)
            choice = choose(node.service, location, self._healthy, self.zone.datacenters)
            scope = self._scope(ecs is not None, choice, location, prefix)
            datacenter = choice.datacenter
            found = self._service_rrsets[node.service.name, datacenter].get(
                dns.rdatatype.RdataType.make(qtype)
            )
        elif node is not None:
            found = node.objects.get(qtype)
            if node.apex and qtype == dns.rdatatype.NS:
                glue = self._fast_glue
        if found is not None:
            answers.append(encode_rrset(found, owner=owner))
            return self._fast_reply(common, transport, answers, datacenter, glue, scope)
        rcode = dns.rcode.NXDOMAIN if node is None else dns.rcode.NOERROR
        return self._fast_reply(common, transport, answers, datacenter, (0, b""), scope, rcode)

    def _fast_reply(
        self,
        common: Common,
        transport: Transport,
        answers: list[tuple[int, bytes]],
        datacenter: str | None,
        glue: tuple[int, bytes],
        scope: int,
        negative: dns.rcode.Rcode | None = None,
    ) -> Reply | None:
        """The reply's bytes: ``answers``, then the SOA if ``negative`` (its rcode), then
        ``glue`` and the OPT; ``None`` where it does not fit (TC: the full path's)."""
        rcode = dns.rcode.NOERROR if negative is None else negative
        authority = self._fast_negative if negative is not None else (0, b"")
        opt = b""
        if common.edns:
            nsid = self.zone.nsid if common.wants_nsid else None
            ecs_echo = (common.ecs[0], common.ecs[1], common.ecs[2], scope) if common.ecs else None
            opt = opt_record(OUR_PAYLOAD, nsid, ecs_echo)
        flags = _QR | _AA | (common.flags & (_RD | _CD)) | rcode
        count = sum(n for n, _ in answers)
        header = HEADER.pack(
            common.ident, flags, 1, count, authority[0], glue[0] + (1 if opt else 0)
        )
        body = b"".join(data for _, data in answers)
        wire = header + common.question + body + authority[1] + glue[1] + opt
        limit = TCP_MAX if transport == "tcp" else _common_udp_limit(common)
        if len(wire) > limit:
            return None
        return Reply(wire, dns.rcode.to_text(rcode), datacenter, False)

    def _answer(self, query: dns.message.Message, source: Address, transport: Transport) -> Reply:
        question = query.question[0]
        response = dns.message.Message(id=query.id)
        response.flags = dns.flags.QR | (query.flags & (dns.flags.RD | dns.flags.CD))
        response.question = [question]
        options: list[dns.edns.Option] = []
        if query.edns >= 0 and _wants_nsid(query) and self.zone.nsid is not None:
            options.append(dns.edns.NSIDOption(self.zone.nsid))
        if query.edns > 0:
            response.use_edns(0, 0, OUR_PAYLOAD, options=options)
            response.set_rcode(dns.rcode.BADVERS)
            return self._render(response, query, transport, None)
        ecs = _ecs_of(query)
        datacenter: str | None = None
        scope = 0
        if question.rdtype in _NOT_QUERIES:
            response.set_rcode(dns.rcode.FORMERR)
        elif (
            question.rdclass != dns.rdataclass.IN
            or not self.zone.holds(question.name)
            or question.rdtype in _TRANSFERS
        ):
            response.set_rcode(dns.rcode.REFUSED)
        else:
            response.flags |= dns.flags.AA
            choice, scope = self._fill(response, question.name, question.rdtype, ecs, source)
            datacenter = choice.datacenter if choice is not None else None
        if query.edns >= 0:
            if ecs is not None:
                options.append(dns.edns.ECSOption(ecs.address, ecs.srclen, scope))
            response.use_edns(0, 0, OUR_PAYLOAD, options=options)
        return self._render(response, query, transport, datacenter)

    def _fill(
        self,
        response: dns.message.Message,
        qname: dns.name.Name,
        qtype: dns.rdatatype.RdataType,
        ecs: dns.edns.ECSOption | None,
        source: Address,
    ) -> tuple[Choice | None, int]:
        """Put the answer for ``qname``/``qtype`` in ``response``; the service's choice
        (if a service answered) and the ECS scope it holds for."""
        zone = self.zone
        choice: Choice | None = None
        scope = 0
        name = qname
        for _ in range(MAX_CNAME_CHAIN):
            node = zone.nodes.get(name, {})
            service = zone.services.get(name)
            cname = node.get(dns.rdatatype.CNAME)
            if cname is not None and qtype not in (dns.rdatatype.CNAME, dns.rdatatype.ANY):
                response.answer.append(cname)
                target = cname[0].target
                if not zone.holds(target):
                    return choice, scope
                name = target
                continue
            found = list(node.values()) if qtype == dns.rdatatype.ANY else []
            if qtype != dns.rdatatype.ANY and qtype in node:
                found = [node[qtype]]
            if service is not None and qtype in (
                dns.rdatatype.A,
                dns.rdatatype.AAAA,
                dns.rdatatype.ANY,
            ):
                subnet = ipaddress.ip_address(ecs.address) if ecs is not None else None
                location, prefix = self._locate(subnet, ecs.srclen if ecs else 0, source)
                choice = choose(service, location, self._healthy, zone.datacenters)
                scope = self._scope(ecs is not None, choice, location, prefix)
                found += self._addresses(service, choice.datacenter, qtype)
            if found:
                response.answer.extend(found)
                if name == zone.origin and qtype == dns.rdatatype.NS:
                    self._glue(response, node[dns.rdatatype.NS])
                return choice, scope
            if not zone.exists(name):  # after a CNAME, the chain's last name's (RFC 6604)
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._negative_soa)
            return choice, scope
        return choice, scope  # a CNAME loop: what was followed, no more

    def _locate(
        self, subnet: Address | None, srclen: int, source: Address
    ) -> tuple[Location | None, int]:
        """Where the client is, and the source prefix length that told us (0: not ECS).

        ``subnet`` and ``srclen`` are the ECS option's (``None`` and 0 without one)."""
        if self._locator is None:
            return None, 0
        if subnet is not None and srclen > 0:
            return self._locator.locate(subnet), srclen
        if isinstance(source, ipaddress.IPv6Address) and source.ipv4_mapped is not None:
            source = source.ipv4_mapped
        return self._locator.locate(source), 0

    @staticmethod
    def _scope(has_ecs: bool, choice: Choice, location: Location | None, prefix: int) -> int:
        if not has_ecs or prefix == 0:
            return 0
        if location is not None and choice.located:
            return min(prefix, location.prefix_len)
        return prefix  # unknown place: the answer holds for the client's prefix, no wider

    def _addresses(
        self, service: Service, datacenter: str, qtype: dns.rdatatype.RdataType
    ) -> list[dns.rrset.RRset]:
        rrsets = self._service_rrsets[service.name, datacenter]
        if qtype == dns.rdatatype.ANY:
            return list(rrsets.values())
        return [rrsets[qtype]] if qtype in rrsets else []

    def _glue(self, response: dns.message.Message, ns: dns.rrset.RRset) -> None:
        for record in ns:
            node = self.zone.nodes.get(record.target, {})
            for rdtype in _ADDRESS_TYPES.values():
                if rdtype in node:
                    response.additional.append(node[rdtype])

    def _render(
        self,
        response: dns.message.Message,
        query: dns.message.Message,
        transport: Transport,
        datacenter: str | None,
    ) -> Reply:
        limit = TCP_MAX if transport == "tcp" else _udp_limit(query)
        rcode = dns.rcode.to_text(response.rcode())
        try:
            return Reply(response.to_wire(max_size=limit), rcode, datacenter, False)
        except dns.exception.TooBig:
            response.answer.clear()
            response.authority.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            return Reply(response.to_wire(max_size=limit), rcode, datacenter, True)

"""The common query read and answered at the byte level, without dnspython.

Nearly every query an authoritative server gets is one question (an
uncompressed name, a type, class IN) with at most one OPT record carrying
ECS, NSID or options to ignore. :func:`read_common` reads exactly that shape
and returns ``None`` for anything else, which then takes the full path
through dnspython (:mod:`.authority`) and gets the same rules. The answers
built here are the full path's, record for record:
``tests/unit/test_geodns_fast_path_same_answers.py`` holds both paths to the
same parsed reply for generated queries.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

import dns.name
import dns.rdataclass
import dns.rrset

from millionscale.geodns.locate import Address

__all__ = ["QUESTION_NAME", "Common", "canonical", "encode_rrset", "opt_record", "read_common"]

_HEADER = struct.Struct("!HHHHHH")
_TYPE_CLASS = struct.Struct("!HH")
_OPT_FIXED = struct.Struct("!HHIH")  # type, payload size (class), ext-rcode/version/flags, rdlen
_OPTION = struct.Struct("!HH")
_ECS_FIXED = struct.Struct("!HBB")
_OPT_TYPE = 41
_ECS, _NSID = 8, 3
_FLAGS_ALLOWED = 0x0100 | 0x0020 | 0x0010  # RD, AD, CD: the rest makes it uncommon
_IN = 1


@dataclass(frozen=True, slots=True)
class Common:
    """A query of the common shape, as read from its bytes."""

    ident: int
    flags: int
    qname: bytes  # the question's name on the wire, as sent (its case kept)
    qtype: int
    edns: bool
    payload: int
    wants_nsid: bool
    ecs: tuple[int, int, bytes, Address] | None  # family, source prefix, address bytes, address
    question: bytes  # the question section as sent, to echo


def _read_name(wire: bytes, at: int) -> int | None:
    """The offset after an uncompressed name starting at ``at``; ``None`` if not one."""
    total = 0
    while True:
        if at >= len(wire):
            return None
        length = wire[at]
        if length == 0:
            return at + 1
        if length > 63:
            return None  # a pointer or an extended label: not the common shape
        total += length + 1
        if total > 254:
            return None
        at += length + 1


def _read_ecs(body: bytes) -> tuple[int, int, bytes, Address] | None:
    if len(body) < _ECS_FIXED.size:
        return None
    family, srclen, scope = _ECS_FIXED.unpack_from(body)
    address = body[_ECS_FIXED.size :]
    width = {1: 4, 2: 16}.get(family)
    if width is None or scope != 0 or srclen > width * 8 or len(address) != (srclen + 7) // 8:
        return None
    if srclen % 8 and address and address[-1] & (0xFF >> (srclen % 8)):
        return None  # bits past the prefix: the full path decides
    padded = address + bytes(width - len(address))
    ip = ipaddress.IPv4Address(padded) if family == 1 else ipaddress.IPv6Address(padded)
    return family, srclen, address, ip


def read_common(wire: bytes) -> Common | None:
    """``wire`` as a :class:`Common` query, or ``None`` if it is of any other shape."""
    if len(wire) < _HEADER.size:
        return None
    ident, flags, qd, an, ns, ar = _HEADER.unpack_from(wire)
    if flags & ~_FLAGS_ALLOWED or qd != 1 or an or ns or ar > 1:
        return None  # QR, an opcode, TC, a set rcode, several questions: the full path
    end = _read_name(wire, _HEADER.size)
    if end is None or end + _TYPE_CLASS.size > len(wire):
        return None
    qtype, qclass = _TYPE_CLASS.unpack_from(wire, end)
    question_end = end + _TYPE_CLASS.size
    if qclass != _IN:
        return None
    qname = wire[_HEADER.size : end]
    if ar == 0:
        if question_end != len(wire):
            return None
        return Common(ident, flags, qname, qtype, False, 0, False, None, wire[12:question_end])
    at = question_end
    if at + 1 + _OPT_FIXED.size > len(wire) or wire[at] != 0:
        return None
    rtype, payload, ttl, rdlen = _OPT_FIXED.unpack_from(wire, at + 1)
    at += 1 + _OPT_FIXED.size
    if rtype != _OPT_TYPE or ttl & 0xFFFF0000 or at + rdlen != len(wire):
        return None  # another record, an extended rcode or version, or trailing bytes
    wants_nsid = False
    ecs = None
    while at < len(wire):
        if at + _OPTION.size > len(wire):
            return None
        code, length = _OPTION.unpack_from(wire, at)
        at += _OPTION.size
        if at + length > len(wire):
            return None
        body = wire[at : at + length]
        at += length
        if code == _NSID:
            wants_nsid = True
        elif code == _ECS:
            if ecs is not None:
                return None
            ecs = _read_ecs(body)
            if ecs is None:
                return None
    return Common(ident, flags, qname, qtype, True, payload, wants_nsid, ecs, wire[12:question_end])


QUESTION_NAME = b"\xc0\x0c"  # a pointer to offset 12: the question's name, as the client wrote it


def encode_rrset(rrset: dns.rrset.RRset, *, owner: bytes = QUESTION_NAME) -> tuple[int, bytes]:
    """``rrset``'s records on the wire, their names in the rdata uncompressed, each owner
    ``owner`` (the question's name by default: an answer's owner is the name asked for):
    their count and bytes."""
    records = b"".join(
        owner + struct.pack("!HHIH", rrset.rdtype, dns.rdataclass.IN, rrset.ttl, len(data)) + data
        for data in (rdata.to_wire() for rdata in rrset)
    )
    return len(rrset), records


def opt_record(payload: int, nsid: bytes | None, ecs: tuple[int, int, bytes, int] | None) -> bytes:
    """An OPT record of version 0 with ``payload``, NSID and the ECS echo (family,
    source prefix, address bytes, scope)."""
    options = b""
    if nsid is not None:
        options += _OPTION.pack(_NSID, len(nsid)) + nsid
    if ecs is not None:
        family, srclen, address, scope = ecs
        body = _ECS_FIXED.pack(family, srclen, scope) + address
        options += _OPTION.pack(_ECS, len(body)) + body
    return b"\x00" + _OPT_FIXED.pack(_OPT_TYPE, payload, 0, len(options)) + options


def canonical(name: dns.name.Name) -> bytes:
    """A name's wire form in lower case: how the fast path finds it."""
    return _wire(name.canonicalize())


def _wire(name: dns.name.Name) -> bytes:
    data = name.to_wire()
    assert data is not None  # to_wire() without a file returns the bytes
    return data

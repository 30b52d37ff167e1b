"""Whatever bytes arrive, respond() returns nothing or a reply that parses, carries the
query's ID and is no SERVFAIL (no bug of ours); a malformed query is FORMERR or not
answered (hypothesis)."""

import ipaddress
import struct

import dns.message
import dns.rcode
from geodns_factories import authority, ecs, query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SERVER = authority()
SOURCE = ipaddress.ip_address("192.0.2.1")
VALID = [
    query("www.photos.test.").to_wire(),
    query("static.photos.test.", "ANY", edns=0, options=[ecs("192.0.2.0", 24)]).to_wire(),
    query("photos.test.", "NS", edns=0, payload=512).to_wire(),
]


def check(wire: bytes, transport: str) -> None:
    reply = SERVER.respond(wire, SOURCE, transport)
    if reply is None:
        assert len(wire) < 12 or struct.unpack_from("!H", wire, 2)[0] & 0x8000
        return
    assert reply.rcode != "SERVFAIL", reply.problem
    assert reply.wire[:2] == wire[:2]
    parsed = dns.message.from_wire(reply.wire)
    limit = 65535 if transport == "tcp" else 1232
    assert len(reply.wire) <= limit
    assert parsed.rcode() in dns.rcode.Rcode


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.sampled_from(["udp", "tcp"]))
def test_random_bytes(wire: bytes, transport: str) -> None:
    check(wire, transport)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
    st.integers(0, 80),
    st.sampled_from(["udp", "tcp"]),
)
def test_mutated_queries(
    base: bytes, flips: list[tuple[int, int]], cut: int, transport: str
) -> None:
    wire = bytearray(base)
    for at, value in flips:
        if at < len(wire):
            wire[at] = value
    check(bytes(wire[: len(wire) - cut] if cut < len(wire) else wire), transport)

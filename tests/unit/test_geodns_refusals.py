"""What is not this server's to answer: REFUSED without AA for other zones, other
classes and transfers; NOTIMP for other opcodes; FORMERR for what does not parse;
NOTAUTH for TSIG; nothing at all for a response or a packet shorter than a header."""

import struct

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import pytest
from geodns_factories import CLIENT, ask, authority, query


@pytest.mark.parametrize("name", ["example.com.", "test.", "photos.test.example."])
def test_a_name_outside_the_zone_is_refused_without_aa(name: str) -> None:
    _, answer = ask(authority(), query(name))

    assert answer.rcode() == dns.rcode.REFUSED
    assert not answer.flags & dns.flags.AA


def test_another_class_is_refused() -> None:
    _, answer = ask(authority(), query("www.photos.test.", "TXT", rdclass="CH"))

    assert answer.rcode() == dns.rcode.REFUSED


@pytest.mark.parametrize("rdtype", ["AXFR", "IXFR"])
def test_zone_transfers_are_refused(rdtype: str) -> None:
    _, answer = ask(authority(), query("photos.test.", rdtype), transport="tcp")

    assert answer.rcode() == dns.rcode.REFUSED


@pytest.mark.parametrize("rdtype", ["OPT", "TSIG"])
def test_a_type_of_the_additional_section_asked_as_a_question_is_formerr(rdtype: str) -> None:
    _, answer = ask(authority(), query("photos.test.", rdtype))

    assert answer.rcode() == dns.rcode.FORMERR


def test_an_opcode_other_than_query_is_notimp() -> None:
    message = query("photos.test.")
    message.set_opcode(dns.opcode.UPDATE)

    reply, answer = ask(authority(), message)

    assert answer.rcode() == dns.rcode.NOTIMP
    assert answer.opcode() == dns.opcode.UPDATE
    assert reply.rcode == "NOTIMP"


def test_two_questions_are_formerr() -> None:
    message = query("photos.test.")
    message.question.append(
        dns.rrset.RRset(message.question[0].name, dns.rdataclass.IN, dns.rdatatype.NS)
    )

    _, answer = ask(authority(), message)

    assert answer.rcode() == dns.rcode.FORMERR
    assert answer.id == message.id


def test_no_question_is_formerr() -> None:
    wire = struct.pack("!HHHHHH", 0x1234, 0, 0, 0, 0, 0)

    _, answer = ask(authority(), wire)

    assert answer.rcode() == dns.rcode.FORMERR
    assert answer.id == 0x1234


def test_a_packet_that_does_not_parse_is_formerr_with_its_id() -> None:
    wire = struct.pack("!HHHHHH", 0xBEEF, 0x0100, 1, 0, 0, 0) + b"\x05abc"

    _, answer = ask(authority(), wire)

    assert answer.rcode() == dns.rcode.FORMERR
    assert answer.id == 0xBEEF
    assert answer.flags & dns.flags.RD


def test_a_tsig_signed_query_is_notauth() -> None:
    message = query("www.photos.test.")
    message.use_tsig(dns.tsigkeyring.from_text({"k.": "MTIzNDU2Nzg5MDEyMzQ1Ng=="}), "k.")

    _, answer = ask(authority(), message)

    assert answer.rcode() == dns.rcode.NOTAUTH


def test_a_response_is_never_answered() -> None:
    message = query("www.photos.test.")
    message.flags |= dns.flags.QR
    server = authority()

    assert server.respond(message.to_wire(), CLIENT, "udp") is None
    assert server.statistics().dropped == 1


@pytest.mark.parametrize("wire", [b"", b"\x12", b"\x12\x34" + b"\x00" * 9])
def test_a_packet_shorter_than_a_header_is_not_answered(wire: bytes) -> None:
    assert authority().respond(wire, CLIENT, "udp") is None

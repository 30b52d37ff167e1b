"""The client's location from EDNS Client Subnet (RFC 7871) when the query has it,
from the source address otherwise; the option echoed with the scope the answer holds
for (§7.2.1); a bad option is FORMERR (§7.1.2)."""

import ipaddress
import struct
from pathlib import Path

import dns.edns
import dns.message
import dns.rcode
import pytest
from geodns_factories import addresses, ask, authority, ecs, query


def scope_of(answer: dns.message.Message) -> tuple[str, int, int]:
    (option,) = [o for o in answer.options if isinstance(o, dns.edns.ECSOption)]
    return option.address, option.srclen, option.scopelen


def test_the_subnet_decides_the_data_center(tmp_path: Path) -> None:
    message = query("www.photos.test.", options=[ecs("192.0.2.0", 24)])

    reply, answer = ask(authority(tmp_path), message)

    assert addresses(answer) == ["10.2.0.10"]  # EU → eu-west
    assert reply.datacenter == "eu-west"


def test_the_scope_is_the_shorter_of_the_source_prefix_and_the_database_network(
    tmp_path: Path,
) -> None:
    server = authority(tmp_path)

    _, wide = ask(server, query("www.photos.test.", options=[ecs("192.0.2.0", 24)]))
    _, narrow = ask(server, query("www.photos.test.", options=[ecs("192.0.2.64", 26)]))
    _, short = ask(server, query("www.photos.test.", options=[ecs("192.0.0.0", 16)]))

    assert scope_of(wide) == ("192.0.2.0", 24, 24)
    assert scope_of(narrow) == ("192.0.2.64", 26, 24)  # the database's /24 covers it
    assert short.options[0].scopelen == 16


def test_an_answer_that_does_not_depend_on_the_address_has_scope_zero(tmp_path: Path) -> None:
    message = query("photos.test.", "TXT", options=[ecs("192.0.2.0", 24)])

    _, answer = ask(authority(tmp_path), message)

    assert scope_of(answer) == ("192.0.2.0", 24, 0)


def test_an_unknown_network_answers_the_default_for_its_own_prefix_only(tmp_path: Path) -> None:
    message = query("www.photos.test.", options=[ecs("172.16.5.0", 24)])

    _, answer = ask(authority(tmp_path), message)

    assert addresses(answer) == ["10.1.0.10"]
    assert scope_of(answer) == ("172.16.5.0", 24, 24)


def test_an_ipv6_subnet_is_located_too(tmp_path: Path) -> None:
    message = query("www.photos.test.", options=[ecs("2001:db8:e0::", 48)])

    _, answer = ask(authority(tmp_path), message)

    assert addresses(answer) == ["10.2.0.10"]
    assert scope_of(answer)[2] == 48


def test_without_the_option_the_source_address_decides(tmp_path: Path) -> None:
    european = ipaddress.ip_address("192.0.2.55")

    _, answer = ask(authority(tmp_path), query("www.photos.test."), source=european)

    assert addresses(answer) == ["10.2.0.10"]
    assert answer.edns == -1


def test_an_ipv4_mapped_source_is_located_as_ipv4(tmp_path: Path) -> None:
    mapped = ipaddress.ip_address("::ffff:192.0.2.55")

    _, answer = ask(authority(tmp_path), query("www.photos.test."), source=mapped)

    assert addresses(answer) == ["10.2.0.10"]


def test_a_source_prefix_of_zero_falls_back_to_the_source_address(tmp_path: Path) -> None:
    european = ipaddress.ip_address("192.0.2.55")
    message = query("www.photos.test.", options=[ecs("0.0.0.0", 0)])

    _, answer = ask(authority(tmp_path), message, source=european)

    assert addresses(answer) == ["10.2.0.10"]
    assert scope_of(answer) == ("0.0.0.0", 0, 0)


def _ecs_wire(family: int, srclen: int, address: bytes) -> bytes:
    body = struct.pack("!HBB", family, srclen, 0) + address
    option = struct.pack("!HH", 8, len(body)) + body
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, len(option)) + option
    question = b"\x03www\x06photos\x04test\x00" + struct.pack("!HH", 1, 1)
    return struct.pack("!HHHHHH", 7, 0, 1, 0, 0, 1) + question + opt


@pytest.mark.parametrize(
    ("family", "srclen", "address"),
    [(1, 33, b"\xc0\x00\x02\x00\x00"), (2, 129, b"\x20" * 17), (3, 8, b"\x01")],
    ids=["ipv4-prefix-over-32", "ipv6-prefix-over-128", "unknown-family"],
)
def test_a_bad_subnet_option_is_formerr(family: int, srclen: int, address: bytes) -> None:
    _, answer = ask(authority(), _ecs_wire(family, srclen, address))

    assert answer.rcode() == dns.rcode.FORMERR

"""Over UDP a reply fits 512 bytes, or the client's EDNS size capped at ours; one that
does not is sent empty with TC, and TCP carries it whole (RFC 1035 §4.2.1, RFC 6891
§6.2.5, RFC 7766)."""

import dns.flags
from geodns_factories import ZONE, addresses, ask, authority, query

# us-east with 60 IPv4 addresses: about 1,000 bytes of answer.
MANY = ", ".join(f'"10.1.1.{i}"' for i in range(1, 61))
BIG = ZONE.replace('addresses = ["10.1.0.10", "2001:db8:1::10"]', f"addresses = [{MANY}]")


def test_a_big_answer_without_edns_is_truncated_to_512_bytes() -> None:
    reply, answer = ask(authority(text=BIG), query("www.photos.test."))

    assert len(reply.wire) <= 512
    assert answer.flags & dns.flags.TC
    assert answer.answer == []
    assert reply.truncated


def test_the_clients_edns_size_lets_it_through() -> None:
    reply, answer = ask(authority(text=BIG), query("www.photos.test.", edns=0, payload=1232))

    assert not answer.flags & dns.flags.TC
    assert len(addresses(answer)) == 60
    assert len(reply.wire) > 512


def test_an_edns_size_under_512_counts_as_512() -> None:
    _, answer = ask(authority(), query("www.photos.test.", edns=0, payload=100))

    assert not answer.flags & dns.flags.TC
    assert addresses(answer) == ["10.1.0.10"]


def test_an_edns_size_over_ours_is_capped_at_ours() -> None:
    many = ", ".join(f'"10.1.{i // 250}.{i % 250 + 1}"' for i in range(100))
    text = ZONE.replace('addresses = ["10.1.0.10", "2001:db8:1::10"]', f"addresses = [{many}]")

    reply, answer = ask(authority(text=text), query("www.photos.test.", edns=0, payload=65000))

    assert answer.flags & dns.flags.TC
    assert len(reply.wire) <= 1232


def test_tcp_carries_the_whole_answer() -> None:
    _, answer = ask(authority(text=BIG), query("www.photos.test."), transport="tcp")

    assert not answer.flags & dns.flags.TC
    assert len(addresses(answer)) == 60

"""NXDOMAIN for a name that does not exist, NODATA for one without the type, both with
the SOA in the authority section at the negative TTL (RFC 2308 §3, §5); an empty
non-terminal is NODATA (RFC 8020)."""

import dns.flags
import dns.rcode
from geodns_factories import ZONE, ask, authority, query, records

SOA = "photos.test. 30 IN SOA ns1.photos.test. hostmaster.photos.test. 7 3600 600 604800 30"


def test_a_name_that_does_not_exist_is_nxdomain_with_the_soa() -> None:
    reply, answer = ask(authority(), query("nope.photos.test."))

    assert answer.rcode() == dns.rcode.NXDOMAIN
    assert reply.rcode == "NXDOMAIN"
    assert answer.flags & dns.flags.AA
    assert answer.answer == []
    assert records(answer.authority) == [SOA]


def test_a_name_without_the_type_is_nodata_with_the_soa() -> None:
    _, answer = ask(authority(), query("photos.test.", "MX"))

    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.answer == []
    assert records(answer.authority) == [SOA]


def test_an_empty_non_terminal_is_nodata_not_nxdomain() -> None:
    _, answer = ask(authority(), query("deep.photos.test."))

    assert answer.rcode() == dns.rcode.NOERROR
    assert records(answer.authority) == [SOA]


def test_a_name_under_an_existing_one_does_not_exist() -> None:
    _, answer = ask(authority(), query("x.www.photos.test."))

    assert answer.rcode() == dns.rcode.NXDOMAIN


def test_the_negative_ttl_is_the_smaller_of_the_soa_ttl_and_its_minimum() -> None:
    text = ZONE.replace("minimum = 30\nttl = 3600", "minimum = 900\nttl = 60")

    _, answer = ask(authority(text=text), query("nope.photos.test."))

    assert answer.authority[0].ttl == 60


def test_a_cname_to_a_missing_name_in_the_zone_is_nxdomain_with_the_cname() -> None:
    text = ZONE.replace('value = "www"', 'value = "gone"')

    _, answer = ask(authority(text=text), query("static.photos.test."))

    assert answer.rcode() == dns.rcode.NXDOMAIN  # RFC 6604: the last name's code
    assert records(answer.answer) == ["static.photos.test. 3600 IN CNAME gone.photos.test."]

"""A service's A and AAAA come from the data center its policy picks; plain records,
CNAMEs followed inside the zone, the apex's NS with glue and ANY come from the zone."""

import dns.flags
import dns.rcode
from geodns_factories import addresses, ask, authority, query, records


def test_a_service_answers_the_default_data_center_when_nobody_is_located() -> None:
    reply, answer = ask(authority(), query("www.photos.test."))

    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.flags & dns.flags.AA
    assert not answer.flags & dns.flags.RA
    assert addresses(answer) == ["10.1.0.10"]
    assert answer.answer[0].ttl == 20  # the service's own TTL
    assert reply.datacenter == "us-east"


def test_aaaa_of_a_service_is_the_data_centers_ipv6_address() -> None:
    _, answer = ask(authority(), query("www.photos.test.", "AAAA"))

    assert addresses(answer) == ["2001:db8:1::10"]


def test_aaaa_where_the_data_center_has_no_ipv6_is_nodata() -> None:
    server = authority()
    server.set_healthy({"eu-west"})

    _, answer = ask(server, query("www.photos.test.", "AAAA"))

    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.answer == []
    assert records(answer.authority)[0].startswith("photos.test. 30 IN SOA")


def test_a_cname_is_followed_to_the_service_inside_the_zone() -> None:
    _, answer = ask(authority(), query("static.photos.test."))

    assert records(answer.answer) == [
        "static.photos.test. 3600 IN CNAME www.photos.test.",
        "www.photos.test. 20 IN A 10.1.0.10",
    ]


def test_asking_for_the_cname_itself_gets_only_the_cname() -> None:
    _, answer = ask(authority(), query("static.photos.test.", "CNAME"))

    assert records(answer.answer) == ["static.photos.test. 3600 IN CNAME www.photos.test."]


def test_the_apex_ns_comes_with_its_glue() -> None:
    _, answer = ask(authority(), query("photos.test.", "NS"))

    assert records(answer.answer) == ["photos.test. 3600 IN NS ns1.photos.test."]
    assert records(answer.additional) == ["ns1.photos.test. 3600 IN A 10.53.0.2"]


def test_the_apex_soa_is_answered() -> None:
    _, answer = ask(authority(), query("photos.test.", "SOA"))

    assert records(answer.answer) == [
        "photos.test. 3600 IN SOA ns1.photos.test. hostmaster.photos.test. 7 3600 600 604800 30"
    ]


def test_any_gets_every_rrset_at_the_name() -> None:
    _, answer = ask(authority(), query("photos.test.", "ANY"))

    assert [line.split()[3] for line in records(answer.answer)] == ["NS", "SOA", "TXT"]


def test_any_at_a_service_includes_both_address_families() -> None:
    _, answer = ask(authority(), query("www.photos.test.", "ANY"))

    assert addresses(answer) == ["10.1.0.10", "2001:db8:1::10"]


def test_names_are_matched_without_regard_to_case() -> None:
    _, answer = ask(authority(), query("WwW.Photos.TEST."))

    assert addresses(answer) == ["10.1.0.10"]


def test_the_query_id_and_rd_are_echoed() -> None:
    message = query("www.photos.test.")
    message.flags |= dns.flags.RD

    _, answer = ask(authority(), message)

    assert answer.id == message.id
    assert answer.flags & dns.flags.RD

"""EDNS(0) (RFC 6891): the OPT record echoed with our payload size, unknown options
ignored, BADVERS for a version above 0, NSID answered when asked (RFC 5001)."""

import dns.edns
import dns.rcode
from geodns_factories import addresses, ask, authority, query

from millionscale.geodns import OUR_PAYLOAD


def test_a_query_without_edns_gets_no_opt() -> None:
    _, answer = ask(authority(), query("www.photos.test."))

    assert answer.edns == -1


def test_the_opt_record_is_echoed_with_our_payload_size() -> None:
    _, answer = ask(authority(), query("www.photos.test.", edns=0, payload=4096))

    assert answer.edns == 0
    assert answer.payload == OUR_PAYLOAD


def test_unknown_options_are_ignored() -> None:
    options = [dns.edns.GenericOption(dns.edns.OptionType.make(65001), b"whatever")]

    _, answer = ask(authority(), query("www.photos.test.", edns=0, options=options))

    assert answer.rcode() == dns.rcode.NOERROR
    assert addresses(answer) == ["10.1.0.10"]
    assert answer.options == ()


def test_a_version_above_zero_is_badvers_with_an_opt_of_version_zero() -> None:
    reply, answer = ask(authority(), query("www.photos.test.", edns=1))

    assert answer.rcode() == dns.rcode.BADVERS
    assert reply.rcode == "BADVERS"
    assert answer.edns == 0
    assert answer.answer == []


def test_nsid_is_answered_when_asked() -> None:
    options = [dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")]

    _, answer = ask(authority(), query("www.photos.test.", edns=0, options=options))

    assert [o.to_text() for o in answer.options] == ["NSID ns-test"]


def test_nsid_is_not_sent_unasked() -> None:
    _, answer = ask(authority(), query("www.photos.test.", edns=0))

    assert answer.options == ()

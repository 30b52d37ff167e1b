"""Hop-by-hop fields are removed, framing fields kept, and responses framed for their client."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.lb.headers import (
    FIELD_KINDS,
    HOP_BY_HOP,
    FieldKind,
    Framing,
    connection_tokens,
    cut_fields,
    header_block,
    request_kind,
    response_framing,
    response_kind,
    well_formed_request_id,
)


def test_hop_by_hop_fields_and_those_connection_names_are_removed():
    headers = [
        (b"Host", b"example.com"),
        (b"Connection", b"keep-alive, X-Secret"),
        (b"Keep-Alive", b"timeout=5"),
        (b"TE", b"trailers"),
        (b"Trailer", b"X-Checksum"),
        (b"Upgrade", b"websocket"),
        (b"Proxy-Authorization", b"Basic Zm9vOmJhcg=="),
        (b"Proxy-Connection", b"keep-alive"),
        (b"X-Secret", b"1"),
        (b"Accept", b"*/*"),
    ]
    _, _, named = connection_tokens(b"keep-alive, X-Secret")

    block = header_block(headers, named=named)

    assert block == b"Host: example.com\r\nAccept: */*\r\n"


def test_connection_may_not_remove_the_fields_that_frame_the_message():
    close, keep_alive, named = connection_tokens(b"Close, Content-Length, Transfer-Encoding, Host")

    assert close
    assert not keep_alive
    assert named == frozenset()


def test_framing_fields_pass_through_untouched():
    headers = [(b"Content-Length", b"12"), (b"Transfer-Encoding", b"gzip, chunked")]

    assert header_block(headers) == b"Content-Length: 12\r\nTransfer-Encoding: gzip, chunked\r\n"


def test_fields_asked_for_are_dropped_case_insensitively():
    headers = [(b"X-Request-Id", b"abc"), (b"x-forwarded-proto", b"https"), (b"Via", b"1.1 a")]

    block = header_block(headers, drop=frozenset({b"x-request-id", b"x-forwarded-proto"}))

    assert block == b"Via: 1.1 a\r\n"


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (b"4bf92f3577b34da6a3ce929d0e0e4736", True),
        (b"01ARZ3NDEKTSV4RRFFQ69G5FAV", True),
        (b"req-1:2/3+4=", True),
        (b"", False),
        (b"has space", False),
        (b"tab\there", False),
        (b"x" * 129, False),
        ("é".encode(), False),
    ],
)
def test_a_request_id_is_kept_only_when_well_formed(value, kept):
    assert well_formed_request_id(value) is kept


@given(st.binary(max_size=200))
def test_a_kept_request_id_is_safe_to_log_and_echo(value):
    if well_formed_request_id(value):
        assert 1 <= len(value) <= 128
        assert all(0x21 <= byte <= 0x7E for byte in value)


@pytest.mark.parametrize(
    ("head_request", "status", "sized", "chunked", "client_11", "framing"),
    [
        (True, 200, True, False, True, Framing.NONE),
        (False, 204, False, False, True, Framing.NONE),
        (False, 304, True, False, True, Framing.NONE),
        (False, 101, False, False, True, Framing.NONE),
        (False, 200, True, False, True, Framing.SIZED),
        (False, 200, True, False, False, Framing.SIZED),
        (False, 200, False, True, True, Framing.CHUNKED),
        (False, 200, False, True, False, Framing.CLOSE),
        (False, 200, False, False, True, Framing.CHUNKED),  # close-delimited from the backend
        (False, 200, False, False, False, Framing.CLOSE),
    ],
)
def test_a_response_is_framed_for_its_client(
    head_request, status, sized, chunked, client_11, framing
):
    got = response_framing(
        head_request=head_request,
        status=status,
        content_length=sized,
        chunked=chunked,
        client_11=client_11,
    )

    assert got is framing


def test_fields_written_plainly_are_cut_from_the_raw_block():
    raw = b"Host: a\r\nConnection: keep-alive\r\nAccept: */*\r\nX-Connection: keep-alive\r\n"

    block = cut_fields(raw, [(b"Connection", b"keep-alive")])

    assert block == b"Host: a\r\nAccept: */*\r\nX-Connection: keep-alive\r\n"


def test_a_field_not_written_plainly_asks_for_a_rebuild():
    raw = b"Host: a\r\nConnection:keep-alive\r\n"  # no space after the colon

    assert cut_fields(raw, [(b"Connection", b"keep-alive")]) is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"Via", b"X-Forwarded-For", b"Accept", b"X-A"]),
            st.sampled_from([b"keep-alive", b"1.2.3.4", b"a, b", b"x"]),
        ),
        max_size=8,
    ),
    st.data(),
)
def test_cutting_fields_is_rebuilding_without_them(fields, data):
    raw = b"".join(name + b": " + value + b"\r\n" for name, value in fields)
    doomed = data.draw(st.lists(st.sampled_from(fields), unique=True) if fields else st.just([]))
    kept = list(fields)
    for field in doomed:
        kept.remove(field)

    assert cut_fields(raw, doomed) == header_block(kept)


@pytest.mark.parametrize(
    ("name", "in_request", "in_response"),
    [
        (b"Content-Length", FieldKind.LENGTH, FieldKind.LENGTH),
        (b"TRANSFER-ENCODING", FieldKind.CHUNKED, FieldKind.CHUNKED),
        (b"connection", FieldKind.CONNECTION, FieldKind.CONNECTION),
        (b"Keep-Alive", FieldKind.HOP, FieldKind.HOP),
        (b"Proxy-Authorization", FieldKind.HOP, FieldKind.HOP),
        (b"Upgrade", FieldKind.UPGRADE, FieldKind.UPGRADE),
        (b"X-Request-Id", FieldKind.REQUEST_ID, FieldKind.REQUEST_ID),
        (b"Host", FieldKind.HOST, FieldKind.ORDINARY),
        (b"Expect", FieldKind.EXPECT, FieldKind.ORDINARY),
        (b"X-Forwarded-For", FieldKind.FORWARDED_FOR, FieldKind.ORDINARY),
        (b"X-Forwarded-Proto", FieldKind.FORWARDED_PROTO, FieldKind.ORDINARY),
        (b"Accept", FieldKind.ORDINARY, FieldKind.ORDINARY),
    ],
)
def test_one_table_gives_each_field_its_kind_in_requests_and_responses(
    name, in_request, in_response
):
    assert (request_kind(name), response_kind(name)) == (in_request, in_response)


def test_every_hop_by_hop_field_is_in_the_table_and_not_ordinary():
    assert set(FIELD_KINDS) >= HOP_BY_HOP
    assert all(FIELD_KINDS[name] != FieldKind.ORDINARY for name in HOP_BY_HOP)

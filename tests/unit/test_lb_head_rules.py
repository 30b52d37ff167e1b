"""check_head refuses the smuggling vectors and malformed heads with the status the RFCs
name (RFC 9112 §3.2, §5.2, §6.1, §6.3; RFC 9110 §5.5, §9.3.6), and works out forwarding."""

from __future__ import annotations

import pytest

from millionscale.lb.head import Refusal, RequestHead, check_head
from millionscale.lb.limits import HttpLimits

LIMITS = HttpLimits()
HOST = (b"Host", b"example.com")


def _check(
    fields: list[tuple[bytes, bytes]],
    *,
    method: bytes = b"POST",
    target: bytes = b"/",
    version: str = "1.1",
) -> RequestHead | Refusal:
    return check_head(method, target, version, fields, limits=LIMITS)


def _status(answer: RequestHead | Refusal) -> int:
    return answer.status if isinstance(answer, Refusal) else 200


REFUSED = [
    # RFC 9112 §6.3 rule 3: both framings at once, the classic CL.TE / TE.CL vector.
    (
        "Content-Length with Transfer-Encoding",
        [HOST, (b"Content-Length", b"4"), (b"Transfer-Encoding", b"chunked")],
        "1.1",
        400,
    ),
    (
        "Transfer-Encoding before Content-Length",
        [HOST, (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"4")],
        "1.1",
        400,
    ),
    # RFC 9110 §8.6: several Content-Length lines, equal or not, are never guessed at.
    (
        "two Content-Length",
        [HOST, (b"Content-Length", b"1"), (b"Content-Length", b"2")],
        "1.1",
        400,
    ),
    (
        "two equal Content-Length",
        [HOST, (b"Content-Length", b"1"), (b"content-length", b"1")],
        "1.1",
        400,
    ),
    # RFC 9112 §6.3 rule 5: an invalid Content-Length is an unrecoverable error.
    ("a Content-Length list", [HOST, (b"Content-Length", b"1, 1")], "1.1", 400),
    ("a signed Content-Length", [HOST, (b"Content-Length", b"+1")], "1.1", 400),
    ("a hex Content-Length", [HOST, (b"Content-Length", b"0x10")], "1.1", 400),
    ("an empty Content-Length", [HOST, (b"Content-Length", b"")], "1.1", 400),
    # RFC 9112 §6.3 rule 4: chunked not the final coding.
    ("chunked not last", [HOST, (b"Transfer-Encoding", b"chunked, gzip")], "1.1", 400),
    ("no chunked at all", [HOST, (b"Transfer-Encoding", b"gzip")], "1.1", 400),
    ("a look-alike of chunked", [HOST, (b"Transfer-Encoding", b"xchunked")], "1.1", 400),
    ("an empty Transfer-Encoding", [HOST, (b"Transfer-Encoding", b"")], "1.1", 400),
    # RFC 9112 §6.1: chunked at most once, in one line or two.
    ("chunked twice", [HOST, (b"Transfer-Encoding", b"chunked, chunked")], "1.1", 400),
    (
        "chunked twice in two lines",
        [HOST, (b"Transfer-Encoding", b"chunked"), (b"Transfer-Encoding", b"chunked")],
        "1.1",
        400,
    ),
    # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
    ("Transfer-Encoding in HTTP/1.0", [(b"Transfer-Encoding", b"chunked")], "1.0", 400),
    # RFC 9112 §6.1: a coding we do not implement gets 501.
    ("gzip before chunked", [HOST, (b"Transfer-Encoding", b"gzip, chunked")], "1.1", 501),
    # RFC 9112 §5.2 and RFC 9110 §5.5: what an obs-fold or a split value leaves.
    ("an obs-fold", [HOST, (b"X-A", b"a\r\n b")], "1.1", 400),
    ("a bare LF in a value", [HOST, (b"X-A", b"a\nb")], "1.1", 400),
    ("a bare CR in a value", [HOST, (b"X-A", b"a\rb")], "1.1", 400),
    ("a NUL in a value", [HOST, (b"X-A", b"a\x00b")], "1.1", 400),
    ("a DEL in a value", [HOST, (b"X-A", b"a\x7fb")], "1.1", 400),
    # RFC 9110 §5.1: a field name is a token (no space before the colon: RFC 9112 §5.1).
    ("a space in a field name", [HOST, (b"Transfer-Encoding ", b"chunked")], "1.1", 400),
    ("an empty field name", [HOST, (b"", b"x")], "1.1", 400),
    ("a colon in a field name", [HOST, (b"X:Y", b"x")], "1.1", 400),
    # RFC 9112 §3.2: Host is required in HTTP/1.1, once, and well-formed.
    ("no Host in HTTP/1.1", [], "1.1", 400),
    ("two Host", [HOST, (b"host", b"other.example")], "1.1", 400),
    ("two Host in HTTP/1.0", [HOST, HOST], "1.0", 400),
    ("a Host with a space", [(b"Host", b"a b")], "1.1", 400),
    ("a Host with a path", [(b"Host", b"a/b")], "1.1", 400),
    ("a Host with userinfo", [(b"Host", b"user@a")], "1.1", 400),
    # RFC 9110 §15.6.6: only HTTP/1.0 and HTTP/1.1 are spoken.
    ("HTTP/2.0 in a request line", [HOST], "2.0", 505),
    ("HTTP/0.9", [], "0.9", 505),
    # Ours: an Upgrade is forwarded as a plain request, so it may not carry a body.
    (
        "an Upgrade with a body",
        [HOST, (b"Upgrade", b"h2c"), (b"Connection", b"Upgrade"), (b"Content-Length", b"3")],
        "1.1",
        400,
    ),
    # RFC 9110 §15.5.14: a declared body over the limit.
    ("a body over the limit", [HOST, (b"Content-Length", b"%d" % (11 * 2**20 + 1))], "1.1", 413),
]


@pytest.mark.parametrize(
    ("what", "fields", "version", "status"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_a_smuggling_vector_or_a_malformed_head_is_refused_with_its_status(
    what, fields, version, status
):
    answer = _check(fields, version=version)

    assert isinstance(answer, Refusal), what
    assert answer.status == status, (what, answer)
    assert answer.reason


def test_connect_is_not_implemented():
    answer = _check([HOST], method=b"CONNECT", target=b"example.com:443")

    assert answer == Refusal(501, "CONNECT is not supported")


@pytest.mark.parametrize(
    ("method", "target"),
    [(b"GE T", b"/"), (b"", b"/"), (b"G\xffT", b"/"), (b"GET", b"/a b"), (b"GET", b"/\x00")],
)
def test_a_bad_method_or_target_is_a_bad_request(method, target):
    answer = _check([HOST], method=method, target=target)

    assert isinstance(answer, Refusal)
    assert answer.status == 400


def test_a_chunked_request_passes_with_its_framing():
    answer = _check([HOST, (b"Transfer-Encoding", b" Chunked ")])

    assert isinstance(answer, RequestHead)
    assert (answer.chunked, answer.content_length) == (True, None)


def test_a_sized_request_passes_with_its_length_and_host():
    answer = _check([(b"HOST", b"Example.com:8080 "), (b"Content-Length", b" 12 ")])

    assert isinstance(answer, RequestHead)
    assert (answer.content_length, answer.chunked, answer.host) == (12, False, b"Example.com:8080")


def test_an_http_10_request_may_go_without_host():
    answer = _check([], method=b"GET", version="1.0")

    assert isinstance(answer, RequestHead)
    assert (answer.http_11, answer.keep_alive, answer.host) == (False, False, None)


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        ("1.1", None, True),
        ("1.1", b"close", False),
        ("1.1", b"keep-alive", True),
        ("1.0", None, False),
        ("1.0", b"keep-alive", True),
        ("1.0", b"keep-alive, close", False),
    ],
)
def test_keep_alive_follows_the_version_and_connection(version, connection, keep_alive):
    fields = [HOST] if connection is None else [HOST, (b"Connection", connection)]

    answer = _check(fields, method=b"GET", version=version)

    assert isinstance(answer, RequestHead)
    assert answer.keep_alive is keep_alive


def test_an_upgrade_without_a_body_is_the_last_request_of_its_connection():
    fields = [HOST, (b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")]

    answer = _check(fields, method=b"GET")

    assert isinstance(answer, RequestHead)
    assert answer.keep_alive is False
    assert b"pgrade" not in answer.block


def test_forwarding_fields_are_worked_out_and_left_out_of_the_block():
    fields = [
        HOST,
        (b"X-Forwarded-For", b"10.0.0.1"),
        (b"x-forwarded-for", b"10.0.0.2"),
        (b"X-Forwarded-Proto", b"http"),
        (b"Expect", b"100-continue"),
        (b"Content-Length", b"3"),
        (b"X-Request-Id", b"abc-123"),
        (b"Keep-Alive", b"timeout=5"),
        (b"Proxy-Authorization", b"Basic x"),
        (b"Accept", b"*/*"),
    ]

    answer = _check(fields)

    assert isinstance(answer, RequestHead)
    assert answer.forwarded_for == b"10.0.0.1, 10.0.0.2"
    assert answer.expect_continue is True
    assert answer.request_id == b"abc-123"
    assert answer.block == (
        b"Host: example.com\r\nContent-Length: 3\r\nX-Request-Id: abc-123\r\nAccept: */*\r\n"
    )


def test_expect_without_a_body_waits_for_nothing():
    answer = _check([HOST, (b"Expect", b"100-continue")], method=b"GET")

    assert isinstance(answer, RequestHead)
    assert answer.expect_continue is False


@pytest.mark.parametrize(
    "ids", [[(b"X-Request-Id", b"a b")], [(b"X-Request-Id", b"a"), (b"X-Request-Id", b"b")]]
)
def test_a_malformed_or_repeated_request_id_is_dropped_to_be_replaced(ids):
    answer = _check([HOST, *ids], method=b"GET")

    assert isinstance(answer, RequestHead)
    assert answer.request_id is None
    assert b"request-id" not in answer.block.lower()


def test_the_raw_block_is_cut_rather_than_rebuilt_when_given():
    fields = [HOST, (b"Connection", b"keep-alive"), (b"Accept", b"*/*")]
    raw = b"Host:  example.com\r\nConnection: keep-alive\r\nAccept: */*\r\n"  # odd spacing kept

    answer = check_head(b"GET", b"/", "1.1", fields, limits=LIMITS, raw=raw)

    assert isinstance(answer, RequestHead)
    assert answer.block == b"Host:  example.com\r\nAccept: */*\r\n"
    assert answer.header(b"accept") == b"*/*"
    assert answer.header(b"cookie") is None

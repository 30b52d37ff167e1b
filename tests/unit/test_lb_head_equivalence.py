"""The connection does what the core says: for a head llhttp parses, ServerConnection
refuses it with check_head's refusal, or starts the app with check_head's RequestHead.

No sockets: the connection runs on a loop with a transport that records what is
written. The heads are the socket tests' (tests/integration/test_lb_bad_requests.py),
the core's own vectors, and hypothesis heads built from the fields the rules read.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from millionscale.lb.connection import NullExchange, ServerConnection
from millionscale.lb.head import Refusal, RequestHead, check_head
from millionscale.lb.limits import HttpLimits

LIMITS = HttpLimits(max_header_bytes=4096, max_body_bytes=1024, max_target_bytes=1024)


class _Transport:
    """What a connection writes, and whether it closed (a network double, no socket)."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    abort = close

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


class _Answered(NullExchange):
    """The app's side: answers 200 at once (an Exchange with nothing to do)."""


def _through_the_connection(data: bytes) -> tuple[bytes, list[RequestHead]]:
    """Feed ``data`` to a ServerConnection: what it wrote, and the heads it started."""
    started: list[RequestHead] = []

    def start(conn: ServerConnection, head: RequestHead, _: list[bytes], __: bool) -> _Answered:
        started.append(head)
        conn.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        conn.finish(head.keep_alive)
        return _Answered()

    async def run() -> bytes:
        transport = _Transport()
        conn = ServerConnection(start, LIMITS, buffer_bytes=LIMITS.max_body_bytes)
        conn.connection_made(transport)  # type: ignore[arg-type]
        conn.data_received(data)
        conn.connection_lost(None)
        return bytes(transport.written)

    return asyncio.run(run()), started


class _Parts:
    """The head's parts as llhttp hands them, with no limits (None: it never completed)."""

    def __init__(self) -> None:
        self.url = b""
        self.fields: list[tuple[bytes, bytes]] = []
        self.done: tuple[bytes, str] | None = None
        self.parser = httptools.HttpRequestParser(self)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.fields.append((name, value))

    def on_headers_complete(self) -> None:
        self.done = (self.parser.get_method(), self.parser.get_http_version())


def _through_the_core(data: bytes) -> RequestHead | Refusal | None:
    """check_head on the first head in ``data``; None if llhttp refuses it first."""
    parts = _Parts()
    try:
        parts.parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        pass
    except httptools.HttpParserError:
        if parts.done is None:
            return None
    if parts.done is None:
        return None
    method, version = parts.done
    line_end = data.find(b"\r\n")
    raw = data[line_end + 2 : data.find(b"\r\n\r\n", line_end) + 2]
    return check_head(method, parts.url, version, parts.fields, limits=LIMITS, raw=raw)


def _status(written: bytes) -> int | None:
    if not written.startswith(b"HTTP/1.1 "):
        return None
    return int(written[9:12])


def _assert_equivalent(head: bytes) -> None:
    """A head (up to its empty line) gets the same answer; an accepted one is sent with a
    well-formed body, so that the connection starts it (bodies are not the core's)."""
    core = _through_the_core(head)
    if isinstance(core, RequestHead):
        body = b"0\r\n\r\n" if core.chunked else b"b" * (core.content_length or 0)
    else:
        body = b""
    written, started = _through_the_connection(head + body)
    if core is None:  # llhttp's own refusal: never a request started
        assert started == []
        return
    if isinstance(core, Refusal):
        assert started == []
        assert _status(written) == core.status
        assert core.reason.encode() in written
    else:
        assert started[:1] == [core]
        assert _status(written) == 200


# The heads the socket tests send, and the core's vectors written out as bytes.
HEADS = [
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 5000 + b"\r\n\r\n",
    b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nContent-Length: 3\r\n\r\nabc",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a b\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)) + b"\r\n",
]


@pytest.mark.parametrize("data", HEADS, ids=range(len(HEADS)))
def test_the_connection_refuses_or_starts_what_the_core_says(data):
    _assert_equivalent(data[: data.index(b"\r\n\r\n") + 4])


def test_the_socket_tests_heads_reach_the_core():
    answers = [_through_the_core(data) for data in HEADS]

    refused = {a.status for a in answers if isinstance(a, Refusal)}
    assert refused == {400, 413, 414, 431, 501, 505}
    assert sum(isinstance(a, RequestHead) for a in answers) >= 4


LINES = [
    b"Host: a",
    b"Host: b",
    b"Content-Length: 3",
    b"Content-Length: 2000",
    b"Content-Length: 1, 1",
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: gzip, chunked",
    b"Connection: close",
    b"Connection: keep-alive, X-A",
    b"Connection: Upgrade",
    b"Upgrade: h2c",
    b"Expect: 100-continue",
    b"X-Request-Id: a b",
    b"X-Request-Id: ok-1",
    b"X-Forwarded-For: 10.0.0.1",
    b"X-A: 1",
    b"Keep-Alive: timeout=5",
    b"Proxy-Authorization: x",
    b"X-Long: " + b"v" * 3000,
]
REQUEST_LINES = [
    b"GET / HTTP/1.1",
    b"POST /x HTTP/1.1",
    b"HEAD / HTTP/1.0",
    b"POST / HTTP/1.0",
    b"GET / HTTP/2.0",
    b"CONNECT a:443 HTTP/1.1",
    b"GET /" + b"p" * 1100 + b" HTTP/1.1",
]


@settings(max_examples=300, deadline=None)
@given(
    request_line=st.sampled_from(REQUEST_LINES),
    lines=st.lists(st.sampled_from(LINES), max_size=8),
)
def test_built_heads_get_the_same_answer_from_the_connection_and_the_core(request_line, lines):
    head = request_line + b"\r\n" + b"".join(line + b"\r\n" for line in lines) + b"\r\n"

    _assert_equivalent(head)

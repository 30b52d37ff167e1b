"""The balancer's HTTP/1.1 server side: read requests safely, write responses.

h11 (sans-IO) parses; this module adds the limits and the error answers a
public-facing proxy needs, so that malformed input never reaches a backend:

- a request head larger than ``MAX_HEADER_BYTES`` gets **431**; an HTTP
  version other than 1.0 and 1.1, **505**;
- a head not complete within ``HEADER_TIMEOUT_S`` (slowloris) gets **408**;
- a body larger than ``MAX_BODY_BYTES`` gets **413** (from its declared
  ``Content-Length`` at once, or as it arrives when chunked);
- a bad request line, bad chunked encoding, both ``Content-Length`` and
  ``Transfer-Encoding``, or several ``Content-Length`` values (request
  smuggling vectors, RFC 9112 §6.3) get **400**;
- after any of them the connection is closed.

:func:`serve_connection` runs one client connection: it reads each request
whole (head and body), hands it to the ``handler`` and writes its answer,
keeping the connection alive between requests as HTTP/1.1 does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import h11

__all__ = [
    "HEADER_TIMEOUT_S",
    "IDLE_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "Handler",
    "HttpLimits",
    "Reply",
    "Request",
    "serve_connection",
]

# HAProxy's tune.bufsize (16 KiB) bounds a request head; h11's default is the same.
MAX_HEADER_BYTES = 16 * 1024
# Our choice: the photo app takes uploads of up to 10 MiB.
MAX_BODY_BYTES = 11 * 1024 * 1024
# HAProxy's `timeout http-request` as commonly set (its documentation's examples): 10 s
# for the whole head; the slowloris defence.
HEADER_TIMEOUT_S = 10.0
# nginx's keepalive_timeout default is 75 s; HAProxy's `timeout http-keep-alive` often 10 s.
IDLE_TIMEOUT_S = 60.0
READ_CHUNK = 64 * 1024

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",  # recomputed: bodies are forwarded whole
    }
)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int = MAX_HEADER_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    header_timeout_s: float = HEADER_TIMEOUT_S
    idle_timeout_s: float = IDLE_TIMEOUT_S


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    peer: str  # the client's address, for X-Forwarded-For
    keep_alive: bool


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


Handler = Callable[[Request], Awaitable[Reply]]


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def error_reply(status: int, reason: str) -> Reply:
    body = (json.dumps({"error": reason}) + "\n").encode()
    return Reply(status, [(b"content-type", b"application/json")], body)


_PHRASES = {status.value: status.phrase.encode() for status in HTTPStatus}


def _raw_error(status: int, reason: str) -> bytes:
    """A whole closing response, written without h11 (the request may be unparsable)."""
    reply = error_reply(status, reason)
    phrase = HTTPStatus(status).phrase
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(reply.body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + reply.body


def _check_framing(headers: list[tuple[bytes, bytes]], limits: HttpLimits) -> None:
    lengths = [value for name, value in headers if name == b"content-length"]
    chunked = any(name == b"transfer-encoding" for name, _ in headers)
    if chunked and lengths:
        raise _Refused(400, "both Content-Length and Transfer-Encoding")
    if len(lengths) > 1:
        raise _Refused(400, "several Content-Length headers")
    if lengths and (not lengths[0].isdigit() or int(lengths[0]) > limits.max_body_bytes):
        if not lengths[0].isdigit():
            raise _Refused(400, "bad Content-Length")
        raise _Refused(413, f"body over {limits.max_body_bytes} bytes")


async def _next_event(
    conn: h11.Connection, reader: asyncio.StreamReader, deadline: float
) -> h11.Event:
    loop = asyncio.get_running_loop()
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Event):
            return event
        if event is h11.PAUSED:  # a new request before ours was answered: refuse pipelining
            raise h11.RemoteProtocolError("pipelined request", error_status_hint=400)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        async with asyncio.timeout(remaining):
            data = await reader.read(READ_CHUNK)
        conn.receive_data(data)


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, limits: HttpLimits, peer: str, first: bool
) -> Request | None:
    """The next whole request, or None when the client closed or idled out between requests."""
    loop = asyncio.get_running_loop()
    idle_deadline = loop.time() + (limits.header_timeout_s if first else limits.idle_timeout_s)
    # Idle until the first byte of the next request, then the head must complete in time.
    if not conn.trailing_data[0]:
        try:
            async with asyncio.timeout(max(0.0, idle_deadline - loop.time())):
                data = await reader.read(READ_CHUNK)
        except TimeoutError:
            if first:
                raise _Refused(408, "no request in time") from None
            return None
        conn.receive_data(data)
    head_deadline = loop.time() + limits.header_timeout_s
    try:
        event = await _next_event(conn, reader, head_deadline)
    except TimeoutError:
        raise _Refused(408, "request head not complete in time") from None
    if isinstance(event, h11.ConnectionClosed):
        return None
    assert isinstance(event, h11.Request)
    if event.http_version not in (b"1.0", b"1.1"):
        raise _Refused(505, f"HTTP/{event.http_version.decode('ascii', 'replace')} not supported")
    headers = list(event.headers)
    # h11 bounds only a head that is still incomplete; a whole one can arrive at once.
    size = len(event.target) + sum(len(name) + len(value) + 4 for name, value in headers)
    if size > limits.max_header_bytes:
        raise _Refused(431, f"request head over {limits.max_header_bytes} bytes")
    _check_framing(headers, limits)
    body = bytearray()
    while True:
        try:
            part = await _next_event(conn, reader, head_deadline + limits.idle_timeout_s)
        except TimeoutError:
            raise _Refused(408, "request body not complete in time") from None
        if isinstance(part, h11.Data):
            body += part.data
            if len(body) > limits.max_body_bytes:
                raise _Refused(413, f"body over {limits.max_body_bytes} bytes")
        elif isinstance(part, h11.EndOfMessage):
            break
        elif isinstance(part, h11.ConnectionClosed):
            return None
    keep_alive = conn.their_state is h11.DONE and not any(
        name == b"connection" and b"close" in value.lower() for name, value in headers
    )
    return Request(
        event.method.decode("ascii", "replace"),
        event.target,
        headers,
        bytes(body),
        peer,
        keep_alive,
    )


async def _write(writer: asyncio.StreamWriter, conn: h11.Connection, reply: Reply) -> None:
    headers = [(n, v) for n, v in reply.headers if n.lower() not in HOP_BY_HOP]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    if conn.our_state is h11.SEND_RESPONSE and conn.their_state is not h11.DONE:
        headers.append((b"connection", b"close"))
    phrase = _PHRASES.get(reply.status, b"")
    data = conn.send(h11.Response(status_code=reply.status, headers=headers, reason=phrase)) or b""
    if reply.body:
        data += conn.send(h11.Data(data=reply.body)) or b""
    data += conn.send(h11.EndOfMessage()) or b""
    writer.write(data)
    await writer.drain()


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handler: Handler,
    limits: HttpLimits = HttpLimits(),
    on_refused: Callable[[int, str], None] = lambda _status, _reason: None,
) -> None:
    """Serve one client connection until it closes, idles out or breaks the protocol."""
    peername = writer.get_extra_info("peername")
    peer = str(peername[0]) if isinstance(peername, tuple) else ""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
    first = True
    try:
        while True:
            try:
                request = await _read_request(conn, reader, limits, peer, first)
            except h11.RemoteProtocolError as error:
                status = error.error_status_hint if error.error_status_hint >= 400 else 400
                raise _Refused(status, str(error) or "malformed request") from None
            if request is None:
                return
            first = False
            reply = await handler(request)
            if not request.keep_alive:
                reply.headers.append((b"connection", b"close"))
            await _write(writer, conn, reply)
            if conn.our_state is h11.MUST_CLOSE or not request.keep_alive:
                return
            conn.start_next_cycle()
    except _Refused as refused:
        on_refused(refused.status, refused.reason)
        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # nothing of a reply sent yet
            with contextlib.suppress(OSError, ConnectionError):
                writer.write(_raw_error(refused.status, refused.reason))
                await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()

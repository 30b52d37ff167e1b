"""The balancer's HTTP/1.1 server side: parse requests safely and fast, on ``asyncio.Protocol``.

llhttp (through ``httptools``, the parser uvicorn uses) parses the bytes as
they arrive; :class:`ServerConnection` adds the limits and the error answers a
public-facing proxy needs, so that malformed input never reaches a backend:

- a request head larger than ``MAX_HEADER_BYTES`` gets **431**; an HTTP
  version other than 1.0 and 1.1, **505**; ``CONNECT``, **501**;
- a head not complete within ``HEADER_TIMEOUT_S`` of its first byte
  (slowloris), or no request at all that long after connecting, gets **408**;
  so does a body that stalls for ``IDLE_TIMEOUT_S``;
- a body larger than ``MAX_BODY_BYTES`` gets **413** (from its declared
  ``Content-Length`` at once, or as it arrives when chunked);
- a bad request line or header, bad chunked encoding, both ``Content-Length``
  and ``Transfer-Encoding``, several ``Content-Length`` values (request
  smuggling vectors, RFC 9112 §6.3) get **400**;
- after any of them the connection is closed.

**Requests go to the app in order, one at a time.** A request's body is
buffered until it is complete or passes ``buffer_bytes``; then the app's
:class:`Exchange` starts, and any rest of the body streams to it
(:meth:`Exchange.body`, :meth:`Exchange.end`). The app answers with
:meth:`ServerConnection.write` and :meth:`ServerConnection.finish`. Requests a
client pipelines behind one being answered are parsed and held (at most
``MAX_PIPELINED``, reading paused meanwhile) and started after it, so the
answers keep their order; past that many the connection is closed once the
held ones are answered (RFC 9112 §9.3.2: a client retries what is left). A
refusal among pipelined requests is written after the answers to the requests
before it.

**Flow control.** The app pauses and resumes reading the client
(:meth:`ServerConnection.pause_reading`) when it cannot pass the body on as fast
as it comes, and hears through :meth:`Exchange.pause_writing` when the client
does not read its answer as fast as it is written (the transport's high and
low water marks), so neither direction buffers without bound.

:func:`serve` runs a simpler model over the same connection code: the request
is read whole (up to the body limit) and an ``async`` handler returns a
:class:`Reply`: the admin API and test backends use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Protocol, cast

import httptools
import structlog

from millionscale.lb.headers import (
    HOP_BY_HOP,
    connection_tokens,
    cut_fields,
    header_block,
    well_formed_request_id,
)

__all__ = [
    "HEADER_TIMEOUT_S",
    "IDLE_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_PIPELINED",
    "Exchange",
    "Handler",
    "HttpLimits",
    "Reply",
    "Request",
    "RequestHead",
    "ServerConnection",
    "StartExchange",
    "error_bytes",
    "error_reply",
    "reply_bytes",
    "serve",
]

log = structlog.get_logger()

# HAProxy's tune.bufsize (16 KiB) bounds a request head; h11's default is the same.
MAX_HEADER_BYTES = 16 * 1024
# Our choice: the photo app takes uploads of up to 10 MiB.
MAX_BODY_BYTES = 11 * 1024 * 1024
# HAProxy's `timeout http-request` as commonly set (its documentation's examples): 10 s
# for the whole head; the slowloris defence.
HEADER_TIMEOUT_S = 10.0
# nginx's keepalive_timeout default is 75 s; HAProxy's `timeout http-keep-alive` often 10 s.
# Also how long a body may stall, and a client may leave its answer unread.
IDLE_TIMEOUT_S = 60.0
# Ours: requests parsed ahead of the one being answered. Browsers do not pipeline; the
# clients that do (benchmarks, some CLIs) send a handful. Bounds what one read can queue.
MAX_PIPELINED = 16

_IDLE, _HEAD, _BODY = 0, 1, 2  # where the parser is in the request stream
# Why reading is paused (bits): requests held behind the one answered, or the app's say.
_PIPELINE, _APP = 1, 2
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# Request fields the connection looks at (lower-case name -> what it is); Proxy-* are _HOP.
_ORDINARY, _CONNECTION, _LENGTH, _CHUNKED, _EXPECT, _XFF, _XFP, _RID, _HOP = range(9)
_FIELDS = {
    b"connection": _CONNECTION,
    b"content-length": _LENGTH,
    b"transfer-encoding": _CHUNKED,
    b"expect": _EXPECT,
    b"x-forwarded-for": _XFF,
    b"x-forwarded-proto": _XFP,
    b"x-request-id": _RID,
    **{name: _HOP for name in HOP_BY_HOP if name != b"connection"},
}
# The kinds of field names as spelled on the wire, remembered: one dict lookup per field
# instead of lower-casing it. Bounded: names are the client's choice.
_KINDS: dict[bytes, int] = {}
_KINDS_MAX = 1024
_METHODS: dict[bytes, str] = {}


def _kind(name: bytes) -> int:
    lower = name.lower()
    kind = _FIELDS.get(lower, _HOP if lower.startswith(b"proxy-") else _ORDINARY)
    if len(_KINDS) < _KINDS_MAX:
        _KINDS[name] = kind
    return kind


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int = MAX_HEADER_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    header_timeout_s: float = HEADER_TIMEOUT_S
    idle_timeout_s: float = IDLE_TIMEOUT_S


class RequestHead:
    """One request's head as parsed, with what forwarding it needs worked out once.

    ``block`` is the header lines to forward (hop-by-hop fields, ``Expect``,
    ``X-Forwarded-For``, ``X-Forwarded-Proto`` and a malformed ``X-Request-Id``
    removed): the raw bytes the client sent when nothing had to go, else
    rebuilt. ``request_id`` is the client's, when kept (it is then in
    ``block``); ``forwarded_for`` the client's ``X-Forwarded-For``.
    """

    __slots__ = (
        "block",
        "chunked",
        "content_length",
        "expect_continue",
        "forwarded_for",
        "headers",
        "http_11",
        "keep_alive",
        "method",
        "raw_method",
        "request_id",
        "target",
    )

    def __init__(self, raw_method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]):
        self.raw_method = raw_method
        method = _METHODS.get(raw_method)
        if method is None:
            method = _METHODS[raw_method] = raw_method.decode("ascii")
        self.method = method
        self.target = target
        self.headers = headers
        self.http_11 = True
        self.keep_alive = True
        self.content_length: int | None = None
        self.chunked = False
        self.expect_continue = False
        self.forwarded_for: bytes | None = None
        self.request_id: bytes | None = None
        self.block = b""

    def header(self, name: bytes) -> bytes | None:
        """The first value of field ``name`` (lower-case), if any."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class Exchange(Protocol):
    """The app's side of one request: what the connection tells it after starting it."""

    def body(self, data: bytes) -> None:
        """More of the request body (after what the app got at its start)."""

    def end(self) -> None:
        """The request body is complete."""

    def abort(self) -> None:
        """The client is gone, or its request was refused half-way: drop everything."""

    def pause_writing(self) -> None:
        """The client's write buffer is over its high water mark: stop producing."""

    def resume_writing(self) -> None:
        """The client's write buffer drained below its low water mark."""


StartExchange = Callable[["ServerConnection", RequestHead, list[bytes], bool], Exchange]
"""(connection, head, the body buffered so far, whether that is all of it) -> exchange."""


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Incoming:
    """A request being read or held: its head, its buffered body, its exchange once started."""

    __slots__ = ("chunks", "complete", "continued", "exchange", "head", "size")

    def __init__(self, head: RequestHead) -> None:
        self.head = head
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False
        self.continued = False
        self.exchange: Exchange | None = None


def _noop(_status: int, _reason: str) -> None:
    return None


class Deadline:
    """A connection's one deadline on one loop timer, re-armed lazily.

    Moving the deadline later (every read does) is an assignment; the timer,
    when it fires before the deadline, re-arms itself for it; only an earlier
    deadline cancels and re-schedules. ``expired(now)`` runs once the
    deadline has passed (it may :meth:`arm` again).
    """

    __slots__ = ("_expired", "_handle", "_loop", "_scheduled", "at")

    def __init__(self, loop: asyncio.AbstractEventLoop, expired: Callable[[float], None]) -> None:
        self._loop = loop
        self._expired = expired
        self._handle: asyncio.TimerHandle | None = None
        self._scheduled = math.inf  # when the timer fires
        self.at = math.inf  # the deadline (inf: none)

    def arm(self, deadline: float) -> None:
        """Set the deadline; the timer is re-armed only when it would fire too late."""
        self.at = deadline
        if self._handle is None or self._scheduled > deadline:
            if self._handle is not None:
                self._handle.cancel()
            self._scheduled = deadline
            self._handle = self._loop.call_at(deadline, self._fire)

    def clear(self) -> None:
        """No deadline (the timer, if it fires, finds nothing due)."""
        self.at = math.inf

    def cancel(self) -> None:
        """No deadline and no timer: the connection is gone."""
        self.at = math.inf
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        now = self._loop.time()
        if now < self.at:
            if self.at < math.inf:
                self._scheduled = self.at
                self._handle = self._loop.call_at(self.at, self._fire)
            return
        self.at = math.inf
        self._expired(now)


class ServerConnection(asyncio.Protocol):
    """One client connection (see the module's docstring for what it guarantees)."""

    __slots__ = (
        "_active",
        "_advancing",
        "_answered",
        "_buffer_bytes",
        "_closed",
        "_data",
        "_deadline",
        "_first",
        "_fresh",
        "_fresh_head",
        "_head_bytes",
        "_head_size",
        "_headers",
        "_last_refusal",
        "_limits",
        "_linger",
        "_loop",
        "_on_refused",
        "_parser",
        "_parsing",
        "_paused",
        "_queue",
        "_reading",
        "_refusal",
        "_registry",
        "_start",
        "_stopped",
        "_transport",
        "_url",
        "_write_paused",
        "peer",
        "response_started",
    )

    def __init__(
        self,
        start: StartExchange,
        limits: HttpLimits,
        *,
        buffer_bytes: int,
        on_refused: Callable[[int, str], None] = _noop,
        registry: set[ServerConnection] | None = None,
    ) -> None:
        self._start = start
        self._registry = registry
        self._limits = limits
        self._buffer_bytes = buffer_bytes
        self._on_refused = on_refused
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self.peer = b""
        self._queue: deque[_Incoming] = deque()  # parsed, not started: held or buffering
        self._active: _Incoming | None = None  # the request being answered
        self._reading: _Incoming | None = None  # the request whose body is being parsed
        self._parsing = _IDLE
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0  # bytes of the head's completed parts
        self._head_bytes = 0  # bytes of reads that ended inside the head
        self._data = b""  # the read being parsed
        self._fresh = False  # that read started between two requests
        self._fresh_head = False  # the request being parsed began at that read's start
        self._first = True
        self._refusal: _Refused | None = None  # to write once the requests before it are
        self._last_refusal: _Refused | None = None  # raised inside a parser callback
        self._stopped = False  # no more requests are read
        self._linger = False  # close once the requests held are answered
        self._closed = False
        self._advancing = False
        self._answered = False  # an answer was finished since the last idle deadline
        self._paused = 0
        self._write_paused = False
        self.response_started = False
        self._deadline = Deadline(self._loop, self._on_deadline)

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if self._registry is not None:
            self._registry.add(self)
        peername = transport.get_extra_info("peername")
        self.peer = str(peername[0]).encode() if isinstance(peername, tuple) else b""
        self._arm(self._loop.time() + self._limits.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        if self._stopped:
            return
        before = self._parsing
        self._data = data
        self._fresh = before == _IDLE
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # An Upgrade request was parsed and held; what follows is not HTTP we forward.
            self._stop_reading()
        except httptools.HttpParserError as error:
            self._parse_error(error)
        except Exception:  # a bug of ours: never a traceback to the client, never a hang
            log.exception("lb: request handling failed")
            self._refuse(_Refused(500, "internal error"))
        else:
            if self._parsing == _HEAD and before == _HEAD:
                # The whole read was head; a head that never ends is cut here.
                self._head_bytes += len(data)
                if self._head_bytes > self._limits.max_header_bytes:
                    self._refuse(_Refused(431, self._too_large()))
            elif self._parsing == _BODY:
                self._arm(self._loop.time() + self._limits.idle_timeout_s)
        self._data = b""
        self._fresh = self._fresh_head = False
        self._advance()

    def eof_received(self) -> bool:
        reading, self._reading = self._reading, None
        cut_short = self._parsing != _IDLE
        self._parsing = _IDLE
        self._stopped = self._linger = True
        if cut_short and reading is not None:  # a request cut short can never be answered
            if reading is self._active and self.response_started:
                self.abandon()
                return False
            self._drop(reading)
        self._advance()
        return self._active is not None or bool(self._queue)  # keep writing their answers

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._stopped = True
        if self._registry is not None:
            self._registry.discard(self)
        self._deadline.cancel()
        active, self._active = self._active, None
        if active is not None and active.exchange is not None:
            active.exchange.abort()
        self._queue.clear()

    def pause_writing(self) -> None:
        self._write_paused = True
        self._arm(self._loop.time() + self._limits.idle_timeout_s)
        if self._active is not None and self._active.exchange is not None:
            self._active.exchange.pause_writing()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._active is not None and self._active.exchange is not None:
            self._active.exchange.resume_writing()

    # -- for the app -------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Part of the answer to the active request (dropped once the connection closes)."""
        self.response_started = True
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def finish(self, keep_alive: bool = True) -> None:
        """The answer to the active request is complete; the next one may start."""
        active, self._active = self._active, None
        self.response_started = False
        if active is None:
            return
        self._answered = True
        if not keep_alive or not active.head.keep_alive or not active.complete:
            # A body not read to its end leaves no way to find the next request.
            self._linger = True
            self._stop_reading()
        if self._write_paused:
            self._write_paused = False  # the stall deadline was the answer's
        self._resume(_APP)  # the app's pause was for this request's body
        if not self._advancing:
            self._advance()

    def abandon(self) -> None:
        """Drop the connection at once: the answer cannot be completed."""
        self._active = None
        self._stopped = True
        self._queue.clear()
        if self._transport is not None and not self._closed:
            self._transport.abort()

    @property
    def busy(self) -> bool:
        """A request is being read, answered or held."""
        return self._active is not None or bool(self._queue) or self._parsing != _IDLE

    def close(self) -> None:
        """Close once the requests read so far are answered (at once if there are none)."""
        self._stop_reading()
        self._advance()

    def pause_reading(self) -> None:
        """Stop reading the client until :meth:`resume_reading` (the app's flow control)."""
        self._pause(_APP)

    def resume_reading(self) -> None:
        self._resume(_APP)

    # -- parser callbacks (httptools) ----------------------------------------------------

    def on_message_begin(self) -> None:
        if len(self._queue) >= MAX_PIPELINED:
            self._last_refusal = _Refused(0, f"over {MAX_PIPELINED} pipelined requests")
            raise self._last_refusal
        self._parsing = _HEAD
        self._fresh_head = self._fresh
        self._fresh = False
        self._url = b""
        self._headers = []
        self._head_size = self._head_bytes = 0
        if self._reading is None and self._active is None and not self._queue:
            self._arm(self._loop.time() + self._limits.header_timeout_s)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)
        if self._head_size > self._limits.max_header_bytes:
            self._last_refusal = _Refused(431, self._too_large())
            raise self._last_refusal

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self._limits.max_header_bytes:
            self._last_refusal = _Refused(431, self._too_large())
            raise self._last_refusal

    def on_headers_complete(self) -> None:
        try:
            head = self._read_head()
        except _Refused as refused:
            self._last_refusal = refused
            raise
        incoming = _Incoming(head)
        self._queue.append(incoming)
        self._reading = incoming
        self._parsing = _BODY
        self._first = False
        if self._active is not None or len(self._queue) > 1:
            self._pause(_PIPELINE)

    def on_body(self, data: bytes) -> None:
        incoming = self._reading
        assert incoming is not None
        incoming.size += len(data)
        if incoming.size > self._limits.max_body_bytes:
            self._last_refusal = _Refused(413, f"body over {self._limits.max_body_bytes} bytes")
            raise self._last_refusal
        if incoming.exchange is not None:
            incoming.exchange.body(data)
        else:
            incoming.chunks.append(data)

    def on_message_complete(self) -> None:
        incoming, self._reading = self._reading, None
        self._parsing = _IDLE
        if incoming is None:
            return
        incoming.complete = True
        if incoming.exchange is not None:
            incoming.exchange.end()

    # -- inside ---------------------------------------------------------------------

    def _read_head(self) -> RequestHead:
        """The head just parsed, checked: a refusal, or what forwarding needs."""
        parser = self._parser
        version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            raise _Refused(505, f"HTTP/{version} not supported")
        raw_method = parser.get_method()
        if raw_method == b"CONNECT":
            raise _Refused(501, "CONNECT is not supported")
        headers = self._headers
        head = RequestHead(raw_method, self._url, headers)
        head.http_11 = version == "1.1"
        close = keep_alive = False
        named: frozenset[bytes] = frozenset()
        cut: list[tuple[bytes, bytes]] = []  # fields not forwarded
        ids: list[tuple[bytes, bytes]] = []
        lengths = 0
        for name, value in headers:
            kind = _KINDS.get(name)
            if kind is None:
                kind = _kind(name)
            if kind == _ORDINARY:
                continue
            if kind == _LENGTH:
                lengths += 1
                text = value.strip()
                if not text.isdigit():
                    raise _Refused(400, "bad Content-Length")
                head.content_length = int(text)
            elif kind == _CHUNKED:
                head.chunked = True
            elif kind == _RID:
                ids.append((name, value))
                head.request_id = value if len(ids) == 1 and well_formed_request_id(value) else None
            else:
                cut.append((name, value))
                if kind == _CONNECTION:
                    c, k, n = connection_tokens(value)
                    close, keep_alive, named = close or c, keep_alive or k, named | n
                elif kind == _EXPECT:
                    head.expect_continue = value.strip().lower() == b"100-continue"
                elif kind == _XFF:
                    previous = head.forwarded_for
                    head.forwarded_for = value if previous is None else previous + b", " + value
        if ids and head.request_id is None:
            cut += ids  # malformed, or several: replaced by one of ours
        if head.chunked and lengths:
            raise _Refused(400, "both Content-Length and Transfer-Encoding")
        if lengths > 1:
            raise _Refused(400, "several Content-Length headers")
        if head.content_length is not None and head.content_length > self._limits.max_body_bytes:
            raise _Refused(413, f"body over {self._limits.max_body_bytes} bytes")
        has_body = head.chunked or bool(head.content_length)
        if parser.should_upgrade():
            # Forwarded as a plain request without Upgrade, and the last on this
            # connection; llhttp would take a body as the next request, so none is allowed.
            if has_body:
                raise _Refused(400, "an Upgrade request with a body")
            close = True
        head.keep_alive = not close if head.http_11 else keep_alive and not close
        head.block = self._block(head, cut, named)
        if not has_body:
            head.expect_continue = False
        return head

    def _block(
        self, head: RequestHead, cut: list[tuple[bytes, bytes]], named: frozenset[bytes]
    ) -> bytes:
        """The header lines to forward: the raw ones, less ``cut``, when the whole head
        is in the read at hand; else rebuilt."""
        if not named and self._fresh_head:
            data = self._data
            if data.startswith(head.raw_method):
                line_end = data.find(b"\r\n")
                head_end = data.find(b"\r\n\r\n", line_end)
                if 0 < line_end <= head_end:
                    raw = data[line_end + 2 : head_end + 2]
                    block = cut_fields(raw, cut) if cut else raw
                    if block is not None:
                        return block
        drop = _DROP if head.request_id is not None else _DROP_WITH_ID
        return header_block(head.headers, drop=drop, named=named)

    def _too_large(self) -> str:
        return f"request head over {self._limits.max_header_bytes} bytes"

    def _parse_error(self, error: httptools.HttpParserError) -> None:
        refused, self._last_refusal = self._last_refusal, None
        if refused is None and isinstance(error, httptools.HttpParserCallbackError):
            # Raised by our own code inside a callback (the app's body or end): a bug.
            log.error("lb: request handling failed", exc_info=error.__context__ or error)
            refused = _Refused(500, "internal error")
        elif refused is None:
            reason = str(error) or "malformed request"
            status = 505 if "HTTP version" in reason else 400
            refused = _Refused(status, f"malformed request: {reason}")
        self._refuse(refused)

    def _refuse(self, refused: _Refused) -> None:
        """Refuse the request being read (status 0: just stop reading), after the ones before."""
        if refused.status:
            self._on_refused(refused.status, refused.reason)
            log.info(f"lb: refused {refused.status}: {refused.reason}", peer=self.peer.decode())
        reading, self._reading = self._reading, None
        self._parsing = _IDLE
        self._stop_reading()
        if reading is not None:
            if reading is self._active and self.response_started:
                if reading.exchange is not None:
                    reading.exchange.abort()
                self.abandon()  # half an answer went out: cut it
                return
            self._drop(reading)
        self._refusal = refused if refused.status else None

    def _drop(self, incoming: _Incoming) -> None:
        """Forget a request that will not be answered (refused, or cut short)."""
        if incoming is self._active:
            self._active = None
            if incoming.exchange is not None:
                incoming.exchange.abort()
            return
        with contextlib.suppress(ValueError):
            self._queue.remove(incoming)

    def _stop_reading(self) -> None:
        """Read no more requests; close once those held are answered."""
        self._stopped = self._linger = True
        self._pause(_PIPELINE)

    def _advance(self) -> None:
        """Start the next request if none is being answered; close when all is done."""
        if self._closed:
            return
        self._advancing = True
        try:
            while self._active is None and self._queue:
                incoming = self._queue[0]
                if not incoming.complete and incoming.size <= self._buffer_bytes:
                    if incoming.head.expect_continue and not incoming.continued:
                        incoming.continued = True
                        self.write(_CONTINUE)
                        self.response_started = False
                    break  # still buffering its body
                self._queue.popleft()
                self._active = incoming
                if self._parsing == _IDLE:
                    self._deadline.clear()  # the backend's timeouts apply now
                chunks, incoming.chunks = incoming.chunks, []
                try:
                    incoming.exchange = self._start(self, incoming.head, chunks, incoming.complete)
                except Exception:  # a bug of ours: answer 500 rather than hang
                    log.exception("lb: request handling failed")
                    if self._active is incoming and not self.response_started:
                        self._active = None
                        self._refusal = _Refused(500, "internal error")
                        self._queue.clear()
                        self._stop_reading()
                    elif self._active is incoming:
                        self.abandon()
        finally:
            self._advancing = False
        if self._active is not None or self._queue:
            held = (self._active is not None and bool(self._queue)) or len(self._queue) > 1
            if self._paused & _PIPELINE and not self._stopped and not held:
                self._resume(_PIPELINE)
            return
        if self._refusal is not None:
            refusal, self._refusal = self._refusal, None
            self.write(error_bytes(refusal.status, refusal.reason, keep_alive=False))
            self._close()
        elif self._linger:
            self._close()
        else:
            if self._paused & _PIPELINE:
                self._resume(_PIPELINE)
            if self._answered:  # the connection is idle again (or a held head resumes)
                self._answered = False
                now = self._loop.time()
                if self._parsing == _HEAD:
                    self._arm(now + self._limits.header_timeout_s)
                elif self._parsing == _IDLE:
                    self._arm(now + self._limits.idle_timeout_s)

    def _close(self) -> None:
        self._stopped = True
        if self._transport is not None and not self._closed:
            self._transport.close()

    def _pause(self, why: int) -> None:
        if not self._paused and self._transport is not None and not self._closed:
            self._transport.pause_reading()
        self._paused |= why

    def _resume(self, why: int) -> None:
        if not self._paused & why:
            return
        self._paused &= ~why
        if not self._paused and self._transport is not None and not self._closed:
            self._transport.resume_reading()

    # -- the connection's deadline (header, body, idle, unread answer) --------------

    def _arm(self, deadline: float) -> None:
        self._deadline.arm(deadline)

    def _on_deadline(self, now: float) -> None:
        if self._closed:
            return
        if self._paused and not self._write_paused and self._parsing != _IDLE:
            # Not reading is our doing (flow control, held requests), not a slow client.
            self._arm(now + self._limits.idle_timeout_s)
        elif self._write_paused:
            log.info("lb: client left its answer unread too long", peer=self.peer.decode())
            if self._active is not None and self._active.exchange is not None:
                self._active.exchange.abort()
            self.abandon()
        elif self._parsing == _HEAD:
            self._refuse(_Refused(408, "request head not complete in time"))
            self._advance()
        elif self._parsing == _BODY:
            self._refuse(_Refused(408, "request body not complete in time"))
            self._advance()
        elif self._active is None and not self._queue:
            if self._first:
                self._refuse(_Refused(408, "no request in time"))
                self._advance()
            else:
                self._close()  # idle keep-alive connection


# Removed from a request's header block besides hop-by-hop fields (see .headers).
_DROP = frozenset({b"expect", b"x-forwarded-for", b"x-forwarded-proto"})
_DROP_WITH_ID = _DROP | {b"x-request-id"}

_PHRASES = {status.value: status.phrase.encode() for status in HTTPStatus}


def status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, _PHRASES.get(status, b""))


def error_bytes(
    status: int, reason: str, *, keep_alive: bool, request_id: bytes | None = None
) -> bytes:
    """A whole JSON error answer ``{"detail": reason}`` (FastAPI's shape, as the app's)."""
    body = (json.dumps({"detail": reason}) + "\n").encode()
    return b"".join(
        (
            status_line(status),
            b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
            b"" if request_id is None else b"x-request-id: " + request_id + b"\r\n",
            b"" if keep_alive else b"connection: close\r\n",
            b"\r\n",
            body,
        )
    )


# -- the simpler model: whole requests to an async handler -----------------------------


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: bytes
    headers: list[tuple[bytes, bytes]]  # names lower-cased
    body: bytes
    peer: str  # the client's address
    keep_alive: bool


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


Handler = Callable[[Request], Awaitable[Reply]]


def error_reply(status: int, reason: str) -> Reply:
    """An admin API's JSON error: ``{"detail": reason}``, as every error of ours."""
    body = (json.dumps({"detail": reason}) + "\n").encode()
    return Reply(status, [(b"content-type", b"application/json")], body)


def reply_bytes(reply: Reply, *, keep_alive: bool, head_only: bool = False) -> bytes:
    """A whole answer: ``Content-Length`` computed, hop-by-hop fields left out."""
    drop = frozenset({b"content-length", b"transfer-encoding"})
    return b"".join(
        (
            status_line(reply.status),
            header_block(reply.headers, drop=drop),
            b"content-length: %d\r\n" % len(reply.body),
            b"" if keep_alive else b"connection: close\r\n",
            b"\r\n",
            b"" if head_only else reply.body,
        )
    )


class _Handled:
    """One whole request run through a :data:`Handler` (an :class:`Exchange`)."""

    __slots__ = ("_conn", "_task")

    def __init__(self, conn: ServerConnection, request: Request, handler: Handler) -> None:
        self._conn = conn
        self._task = asyncio.get_running_loop().create_task(self._run(request, handler))

    async def _run(self, request: Request, handler: Handler) -> None:
        try:
            reply = await handler(request)
        except Exception:
            log.exception("lb: handler failed", target=request.target.decode("latin-1"))
            reply = error_reply(500, "internal error")
        head_only = request.method == "HEAD"
        self._conn.write(reply_bytes(reply, keep_alive=request.keep_alive, head_only=head_only))
        self._conn.finish(request.keep_alive)

    def body(self, data: bytes) -> None:  # pragma: no cover - requests arrive whole
        return None

    def end(self) -> None:  # pragma: no cover - requests arrive whole
        return None

    def abort(self) -> None:
        self._task.cancel()

    def pause_writing(self) -> None:
        return None

    def resume_writing(self) -> None:
        return None


async def serve(
    handler: Handler,
    host: str,
    port: int,
    *,
    limits: HttpLimits = HttpLimits(),
    backlog: int = 100,
) -> asyncio.Server:
    """A listening server whose requests, read whole, go to ``handler``."""

    def start(conn: ServerConnection, head: RequestHead, chunks: list[bytes], _: bool) -> Exchange:
        request = Request(
            head.method,
            head.target,
            [(name.lower(), value) for name, value in head.headers],
            b"".join(chunks),
            conn.peer.decode(),
            head.keep_alive,
        )
        return _Handled(conn, request, handler)

    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: ServerConnection(start, limits, buffer_bytes=limits.max_body_bytes),
        host,
        port,
        backlog=backlog,
    )

"""The balancer's HTTP/1.1 server side: one client connection, on ``asyncio.Protocol``.

llhttp (through ``httptools``, the parser uvicorn uses) parses the bytes as
they arrive; :class:`ServerConnection` hands each head to the sans-IO core
(:func:`.head.check_head`, where the rules and their RFC sections are) and
acts on its answer, and adds what only a connection can know, so that
malformed input never reaches a backend:

- the size limits of :class:`.limits.HttpLimits` are also applied as the head
  arrives (**414**, **431**: a head that never ends is cut at
  ``max_header_bytes``), with the core's own refusals;
- a head not complete within ``header_timeout_s`` of its first byte
  (slowloris), or no request at all that long after connecting, gets **408**;
  so does a body that stalls for ``idle_timeout_s``;
- a chunked body gets **413** as it passes ``max_body_bytes``;
- bytes llhttp cannot parse (a bad request line or header, bad chunked
  encoding) get **400** (**505** for a bad version);
- after any refusal the connection is closed.

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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Protocol, cast

import httptools
import structlog

from millionscale.lb.answers import error_bytes
from millionscale.lb.deadline import Deadline
from millionscale.lb.head import (
    Refusal,
    RequestHead,
    check_head,
    field_refusal,
    head_too_large,
    target_refusal,
)
from millionscale.lb.limits import MAX_PIPELINED, HttpLimits

__all__ = ["Exchange", "NullExchange", "ServerConnection", "StartExchange"]

log = structlog.get_logger()

_IDLE, _HEAD, _BODY = 0, 1, 2  # where the parser is in the request stream
# Why reading is paused (bits): requests held behind the one answered, or the app's say.
_PIPELINE, _APP = 1, 2
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


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


class NullExchange:
    """An :class:`Exchange` that heeds nothing: no more body (its request came whole),
    nothing to drop, nothing to pause. An exchange that heeds some of it subclasses
    this and overrides those."""

    __slots__ = ()

    def body(self, data: bytes) -> None:
        return None

    def end(self) -> None:
        return None

    def abort(self) -> None:
        return None

    def pause_writing(self) -> None:
        return None

    def resume_writing(self) -> None:
        return None


StartExchange = Callable[["ServerConnection", RequestHead, list[bytes], bool], Exchange]
"""(connection, head, the body buffered so far, whether that is all of it) -> exchange."""


class _Refused(Exception):
    """Raised inside a parser callback to stop llhttp: ``refusal`` to answer, or None
    to just stop reading (and close once the requests held are answered)."""

    def __init__(self, refusal: Refusal | None) -> None:
        super().__init__(refusal)
        self.refusal = refusal


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
        "_fields",
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
        self._fields = 0  # fields of the head being parsed
        self._refusal: Refusal | None = None  # to write once the requests before it are
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
            self._refuse(Refusal(500, "internal error"))
        else:
            if self._parsing == _HEAD and before == _HEAD:
                # The whole read was head; a head that never ends is cut here.
                self._head_bytes += len(data)
                if self._head_bytes > self._limits.max_header_bytes:
                    self._refuse(head_too_large(self._limits))
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
            self._last_refusal = _Refused(None)  # over MAX_PIPELINED held: stop reading
            raise self._last_refusal
        self._parsing = _HEAD
        self._fresh_head = self._fresh
        self._fresh = False
        self._url = b""
        self._headers = []
        self._head_size = self._head_bytes = self._fields = 0
        if self._reading is None and self._active is None and not self._queue:
            self._arm(self._loop.time() + self._limits.header_timeout_s)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)
        refusal = target_refusal(self._head_size, self._limits)
        if refusal is not None:
            self._last_refusal = _Refused(refusal)
            raise self._last_refusal

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        line = len(name) + len(value) + 4
        self._head_size += line
        self._fields += 1
        limits = self._limits
        if (
            self._head_size > limits.max_header_bytes
            or line > limits.max_field_bytes
            or self._fields > limits.max_fields
        ):
            refusal = field_refusal(self._fields, line, self._head_size, limits)
            if refusal is not None:
                self._last_refusal = _Refused(refusal)
                raise self._last_refusal

    def on_headers_complete(self) -> None:
        parser = self._parser
        method = parser.get_method()
        head = check_head(
            method,
            self._url,
            parser.get_http_version(),
            self._headers,
            limits=self._limits,
            raw=self._raw_fields(method),
        )
        if isinstance(head, Refusal):
            self._last_refusal = _Refused(head)
            raise self._last_refusal
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
            self._last_refusal = _Refused(
                Refusal(413, f"body over {self._limits.max_body_bytes} bytes")
            )
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

    def _raw_fields(self, raw_method: bytes) -> bytes | None:
        """The head's raw header lines, when the whole head is in the read at hand."""
        if not self._fresh_head:
            return None
        data = self._data
        if not data.startswith(raw_method):
            return None
        line_end = data.find(b"\r\n")
        head_end = data.find(b"\r\n\r\n", line_end)
        if 0 < line_end <= head_end:
            return data[line_end + 2 : head_end + 2]
        return None

    def _parse_error(self, error: httptools.HttpParserError) -> None:
        raised, self._last_refusal = self._last_refusal, None
        if raised is not None:
            refused = raised.refusal
        elif isinstance(error, httptools.HttpParserCallbackError):
            # Raised by our own code inside a callback (the app's body or end): a bug.
            log.error("lb: request handling failed", exc_info=error.__context__ or error)
            refused = Refusal(500, "internal error")
        else:
            reason = str(error) or "malformed request"
            status = 505 if "HTTP version" in reason else 400
            refused = Refusal(status, f"malformed request: {reason}")
        self._refuse(refused)

    def _refuse(self, refused: Refusal | None) -> None:
        """Refuse the request being read (None: just stop reading), after the ones before."""
        if refused is not None:
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
        self._refusal = refused

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
                        self._refusal = Refusal(500, "internal error")
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
            self._refuse(Refusal(408, "request head not complete in time"))
            self._advance()
        elif self._parsing == _BODY:
            self._refuse(Refusal(408, "request body not complete in time"))
            self._advance()
        elif self._active is None and not self._queue:
            if self._first:
                self._refuse(Refusal(408, "no request in time"))
                self._advance()
            else:
                self._close()  # idle keep-alive connection

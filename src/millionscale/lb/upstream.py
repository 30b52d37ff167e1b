"""One kept-alive connection to a backend (``asyncio.Protocol``): its responses parsed, relayed.

An :class:`Upstream` carries one request at a time for the
:class:`~.forward.Forward` bound to it, and is kept alive between them in its
backend's pool (:mod:`.backend`). It parses the response with llhttp (through
``httptools``) and hands the forward its head, its body as it comes and its
end, or the failure that ended it:

- **The response head comes back** with its header block passed through as
  the backend wrote it but for the hop-by-hop fields (and those its
  ``Connection`` names) and the backend's ``X-Request-Id`` (the forward adds
  the request's own), cut out with :func:`.headers.cut_fields`; the block is
  rebuilt from the parsed fields (:func:`.headers.header_block`) only when
  the head did not come whole at the start of one read, its ``Connection``
  names a field, or a chunked response goes to an HTTP/1.0 client
  close-delimited. The framing it is relayed with is
  :func:`.headers.response_framing`'s. Interim answers (``100 Continue``,
  ``103 Early Hints``) are not passed on.
- **Reuse.** It may carry another request only if llhttp says the response
  keeps the connection alive (``keep_alive``), the request went out whole,
  and nothing off the protocol came (bytes nobody asked for, a second
  response in one read, a body after a response to ``HEAD``): such a
  connection is ``broken`` and never reused. A response with neither
  ``Content-Length`` nor chunked framing ends when the backend closes.
- **Timeout.** ``response_timeout_s``, as :class:`Upstream` says; while the
  client is not reading (:meth:`Upstream.pause`), the client's own timeout
  applies instead.
- **Backpressure.** When the backend's write buffer is full, reading the
  client's body pauses until it drains (``pause_writing``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, cast

import httptools

from millionscale.lb.deadline import Deadline
from millionscale.lb.headers import RESPONSE_KINDS as _KINDS
from millionscale.lb.headers import (
    FieldKind,
    Framing,
    connection_tokens,
    cut_fields,
    header_block,
    response_framing,
)
from millionscale.lb.headers import response_kind as _kind

if TYPE_CHECKING:
    from millionscale.lb.backend import Backend
    from millionscale.lb.forward import Forward

__all__ = ["Upstream"]

_HEAD = b"HEAD"
_CLOSE = int(Framing.CLOSE)  # headers.Framing as a plain int for the hot path
# Response fields the upstream looks at: the one table, .headers.FIELD_KINDS.
_ORDINARY, _CONNECTION, _LENGTH, _CHUNKED = (
    int(FieldKind.ORDINARY),
    int(FieldKind.CONNECTION),
    int(FieldKind.LENGTH),
    int(FieldKind.CHUNKED),
)

_DROP_ID = frozenset({b"x-request-id"})
_DROP_ID_TE = frozenset({b"x-request-id", b"transfer-encoding"})


class Upstream(asyncio.Protocol):
    """One connection to a backend: one request at a time, kept alive between them.

    It parses the response with llhttp and hands its head, body and end to the
    :class:`Forward` bound to it; unbound (in the pool), it only waits to be
    closed or reused. The response timeout runs from the request until the
    response head, then between body reads while the client keeps up.
    """

    __slots__ = (
        "_data",
        "_deadline",
        "_done",
        "_fresh",
        "_fresh_head",
        "_headers",
        "_in_body",
        "_interim",
        "_loop",
        "_new_parser",
        "_parser",
        "_reason",
        "_timeout_s",
        "backend",
        "broken",
        "close_delimited",
        "closed",
        "forward",
        "idle_since",
        "keep_alive",
        "paused",
        "transport",
    )

    def __init__(self, backend: Backend, timeout_s: float) -> None:
        self.backend = backend
        self.transport: asyncio.Transport | None = None
        self.forward: Forward | None = None
        self.idle_since = 0.0
        self.closed = False
        self.broken = False  # something off the protocol: never reused
        self.paused = False
        self.keep_alive = True
        self.close_delimited = False
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpResponseParser(self)
        self._timeout_s = timeout_s
        self._headers: list[tuple[bytes, bytes]] = []
        self._reason = b""
        self._data = b""
        self._fresh = self._fresh_head = False
        self._in_body = self._done = self._interim = self._new_parser = False
        self._deadline = Deadline(self._loop, self._on_deadline)

    # -- for the forward ----------------------------------------------------------------

    def bind(self, forward: Forward) -> None:
        """Carry ``forward``'s request; the response timeout starts."""
        self.forward = forward
        self._arm(self._loop.time() + self._timeout_s)

    def close(self) -> None:
        self.forward = None
        self.broken = True
        if not self.closed and self.transport is not None:
            self.transport.close()

    def pause(self) -> None:
        """Stop reading the response (the client is not keeping up)."""
        if not self.paused and self.transport is not None and not self.closed:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()
            self._arm(self._loop.time() + self._timeout_s)

    def block(self, *, drop_te: bool, named: frozenset[bytes]) -> bytes:
        """The response's header lines rebuilt without hop-by-hop fields."""
        return header_block(self._headers, drop=_DROP_ID_TE if drop_te else _DROP_ID, named=named)

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        forward = self.forward
        if forward is None:  # bytes nobody asked for: a broken or closing backend
            self.close()
            return
        self._data = data
        self._fresh = not self._in_body
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
            self._data = b""
            self._fail(f"bad response: {error or type(error).__name__}")
            return
        self._data = b""
        self._fresh = self._fresh_head = False
        if self._done:
            self._complete()
        else:
            forward.flush()  # what this read brought, in one write
            if self._in_body:
                self._arm(self._loop.time() + self._timeout_s)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._deadline.cancel()
        if self.forward is None:
            with contextlib.suppress(ValueError):
                self.backend.idle.remove(self)
            return
        if self._in_body and self.close_delimited and exc is None:
            self.keep_alive = False
            self._complete()  # the close was the end of the body
            return
        self._fail(f"connection lost: {exc}" if exc else "connection closed")

    def pause_writing(self) -> None:
        if self.forward is not None:
            self.forward.conn.pause_reading()

    def resume_writing(self) -> None:
        if self.forward is not None:
            self.forward.conn.resume_reading()

    # -- parser callbacks (httptools) ------------------------------------------------

    def on_message_begin(self) -> None:
        if self._done:  # a second response in one read: not an answer to anything of ours
            self.broken = True
        self._headers = []
        self._reason = b""
        self._fresh_head = self._fresh
        self._fresh = False

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: not passed on
            self._interim = True
            return
        forward = self.forward
        if forward is None or self._done:
            self.broken = True
            return
        sized = chunked = False
        named: frozenset[bytes] = frozenset()
        cut: list[tuple[bytes, bytes]] = []  # fields not passed on
        for name, value in self._headers:
            kind = _KINDS.get(name)
            if kind is None:
                kind = _kind(name)
            if kind == _ORDINARY:
                continue
            if kind == _LENGTH:
                sized = True
            elif kind == _CHUNKED:
                chunked = True
            else:
                cut.append((name, value))
                if kind == _CONNECTION:
                    also = connection_tokens(value)[2]
                    if also:
                        named = named | also
        # llhttp's verdict from the version and Connection: reusable after this response.
        self.keep_alive = parser.should_keep_alive()
        head_request = forward.head.raw_method == _HEAD
        no_body = head_request or status == 204 or status == 304
        self.close_delimited = not no_body and not sized and not chunked
        framing = int(
            response_framing(
                head_request=head_request,
                status=status,
                content_length=sized,
                chunked=chunked,
                client_11=forward.head.http_11,
            )
        )
        drop_te = chunked and framing == _CLOSE
        line = b""
        block: bytes | None = None
        data = self._data
        if self._fresh_head and data.startswith(b"HTTP/"):
            line_end = data.find(b"\r\n")
            head_end = data.find(b"\r\n\r\n", line_end)
            if 0 < line_end <= head_end:
                line = data[: line_end + 2]
                if not named and not drop_te:
                    block = data[line_end + 2 : head_end + 2]
                    if cut:
                        block = cut_fields(block, cut)
        if not line:
            line = b"HTTP/1.1 %d %b\r\n" % (status, self._reason)
        if block is None:
            block = self.block(drop_te=drop_te, named=named)
        self._in_body = True
        if head_request:  # llhttp would wait for the body its Content-Length announces
            self._done = self._new_parser = True
        forward.response_head(self, status, line, block, framing, chunked)

    def on_body(self, data: bytes) -> None:
        if self._new_parser:  # bytes after a response to HEAD
            self.broken = True
            return
        forward = self.forward
        if forward is not None:
            forward.response_body(data)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._done = True

    # -- inside -----------------------------------------------------------------------

    def _complete(self) -> None:
        self._done = self._in_body = False
        self._deadline.clear()
        if self._new_parser:
            self._new_parser = False
            self._parser = httptools.HttpResponseParser(self)
        forward, self.forward = self.forward, None
        if forward is not None:
            forward.response_end(self)

    def _fail(self, why: str) -> None:
        forward, self.forward = self.forward, None
        self.broken = True
        if not self.closed and self.transport is not None:
            self.transport.close()
        if forward is not None:
            forward.upstream_failed(self, why)

    def _arm(self, deadline: float) -> None:
        self._deadline.arm(deadline)

    def _on_deadline(self, now: float) -> None:
        if self.closed or self.forward is None:
            return
        if self.paused:  # the client is not reading: its own timeout applies
            self._arm(now + self._timeout_s)
            return
        forward, self.forward = self.forward, None
        self.close()
        forward.upstream_timed_out(self)

"""The balancer's asyncio shell: backends, their connection pools, checks, and forwarding.

Every decision is a core's (:mod:`.policies`, :mod:`.health`, :mod:`.outlier`,
:mod:`.retry`); this module moves bytes and feeds the cores facts:

- **Forwarding.** :class:`ServerConnection` (:mod:`.http`) parses a client's
  request and starts a :class:`_Forward`, which sends it to the backend the
  policy picks over the backends that are serving (health), not ejected
  (outliers) and not already tried, on a kept-alive pooled
  :class:`Upstream` connection. The request head goes out as the client
  sent it but for hop-by-hop fields (:mod:`.headers`), with
  ``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Request-Id`` added; the
  response head comes back the same way, with ``X-Request-Id``.
- **Streaming.** A request body up to ``REPLAY_BYTES`` is read whole before
  the request is sent, and kept until its answer starts, so a failed attempt
  can be sent again. A longer one streams: the first ``REPLAY_BYTES`` go with
  the head and the rest as it comes; such a request is not retried once a
  byte of its body went to a backend. Response bodies always stream. Both
  directions apply backpressure: when the receiving side's write buffer is
  over its high water mark, reading from the sending side pauses until it
  drains, so a slow reader holds at most a few buffers, never a whole body.
- **Retries.** A 502 or 503 is retried (per the retry core) from its head,
  before any byte of it goes to the client; once a response has started
  toward the client, it is never retried. Connection failures before the
  response head are retried per the retry core too.
- **Settings.** Every knob below comes from one frozen
  :class:`~millionscale.lb.settings.BalancerSettings` (the constants named
  here are its defaults).
- **Timeouts.** Connect ``CONNECT_TIMEOUT_S``; response ``RESPONSE_TIMEOUT_S``
  for the head and then between body bytes (while the client reads); a
  pooled connection idle for ``POOL_IDLE_S`` is closed, kept below the
  backends' own keep-alive timeout so that we never write into a connection
  the backend is closing.
- **Failures.** A failed attempt (connect failure, reset, timeout, status) is
  fed to outlier detection and the retry core, which decides whether and
  where to try again. A request that cannot be served gets 502 (no backend
  answered), 503 (none serving) or 504 (timeout). A backend that fails after
  its response started leaves the client's connection cut (the only way
  HTTP/1.1 can say the body is incomplete).
- **Private paths.** A request for a backend's ``/metrics`` (or another of
  :mod:`.paths`' private paths, however spelled) is answered 404 here and
  never forwarded: metrics are read on the private side, not through the
  public one.
- **Health checks** GET ``/readyz`` on every backend on the health core's
  schedule; **drain** stops new requests and removes the backend once its
  outstanding requests are done (or the drain times out).
- **Membership** comes from the admin API (:meth:`Balancer.add`, ``drain``,
  ``remove``) or from Discovery (:meth:`Balancer.follow`): a task applies
  :func:`~millionscale.lb.membership.reconcile`'s decisions on every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import math
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
import structlog

from millionscale.discovery import Discovery, Snapshot, follow
from millionscale.errors import ConfigError, Conflict, MillionscaleError, NotFound
from millionscale.lb.answers import error_bytes
from millionscale.lb.connection import Exchange, ServerConnection
from millionscale.lb.deadline import Deadline
from millionscale.lb.head import RequestHead
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
from millionscale.lb.health import HealthCheck, InitState, State
from millionscale.lb.limits import HttpLimits
from millionscale.lb.membership import RECONCILE_S, Add, Drain, Present, Remove, reconcile
from millionscale.lb.metrics import EJECTIONS, HEALTHY, REFUSED, BackendMetrics, backend_metrics
from millionscale.lb.outcome import ConnectionFailure, Outcome
from millionscale.lb.outlier import OutlierDetector
from millionscale.lb.paths import PrivatePaths
from millionscale.lb.policies import BackendView, Ewma, NoBackend
from millionscale.lb.retry import RETRY_STATUSES, GiveUp, Retries
from millionscale.lb.settings import (
    CONNECT_TIMEOUT_S,
    POOL_IDLE_S,
    REPLAY_BYTES,
    RESPONSE_TIMEOUT_S,
    BalancerSettings,
)
from millionscale.lb.statistics import BackendStatistics, BalancerStatistics

__all__ = [
    "CONNECT_TIMEOUT_S",
    "POOL_IDLE_S",
    "REPLAY_BYTES",
    "RESPONSE_TIMEOUT_S",
    "Backend",
    "Balancer",
    "Upstream",
    "parse_backend",
]

log = structlog.get_logger()

SWEEP_S = 1.0  # how often idle pooled connections past POOL_IDLE_S are closed


_HEAD = b"HEAD"
_NO_ONE: frozenset[str] = frozenset()
_LAST_CHUNK = b"0\r\n\r\n"
# headers.Framing as plain ints for the hot path (an IntEnum compares alike).
_NONE, _SIZED, _CHUNKED_OUT, _CLOSE = (int(f) for f in Framing)
# Response fields the upstream looks at: the one table, .headers.FIELD_KINDS.
_ORDINARY, _CONNECTION, _LENGTH, _CHUNKED = (
    int(FieldKind.ORDINARY),
    int(FieldKind.CONNECTION),
    int(FieldKind.LENGTH),
    int(FieldKind.CHUNKED),
)

_DROP_ID = frozenset({b"x-request-id"})
_DROP_ID_TE = frozenset({b"x-request-id", b"transfer-encoding"})


def parse_backend(text: str) -> tuple[str, str, int]:
    """``name=host:port`` (or ``host:port``, named after itself) -> (name, host, port)."""
    name, _, address = text.rpartition("=")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"backend {text!r} is not name=host:port", hint="write e.g. web-1=10.0.0.2:8000"
        )
    return name or address, host.strip("[]"), int(port)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


@dataclass
class Backend:
    """One backend and what the shell keeps for it."""

    name: str
    host: str
    port: int
    health: HealthCheck
    ewma: Ewma
    weight: int = 1
    outstanding: int = 0
    idle: list[Upstream] = field(default_factory=list)
    checking: bool = False
    removed: bool = False
    metrics: BackendMetrics | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def count(self, outcome: Outcome) -> None:
        assert self.metrics is not None
        self.metrics.attempt(
            str(outcome) if isinstance(outcome, ConnectionFailure) else _CLASSES[outcome // 100]
        )


_CLASSES = [f"{n}xx" for n in range(10)]


class Upstream(asyncio.Protocol):
    """One connection to a backend: one request at a time, kept alive between them.

    It parses the response with llhttp and hands its head, body and end to the
    :class:`_Forward` bound to it; unbound (in the pool), it only waits to be
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
        self.forward: _Forward | None = None
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

    def bind(self, forward: _Forward) -> None:
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


class _Forward:
    """One client request through the balancer: its attempts and the relay of its answer.

    An :class:`~millionscale.lb.connection.Exchange` for :class:`ServerConnection`;
    its :class:`Upstream` calls ``response_head``/``_body``/``_end`` or
    ``upstream_failed``/``_timed_out``.
    """

    __slots__ = (
        "aborted",
        "backend",
        "balancer",
        "body_sent",
        "complete",
        "conn",
        "connecting",
        "framing",
        "head",
        "keep_alive",
        "key",
        "last",
        "out",
        "pending",
        "prebuilt",
        "responding",
        "rid",
        "started",
        "tried",
        "upstream",
        "waiting",
        "wire",
    )

    def __init__(
        self,
        balancer: Balancer,
        conn: ServerConnection,
        head: RequestHead,
        chunks: list[bytes],
        complete: bool,
    ) -> None:
        self.balancer = balancer
        self.conn = conn
        self.head = head
        balancer.retries.request(balancer.clock())
        rid = head.request_id
        if rid is None:
            rid = balancer.new_request_id()
        self.rid = rid
        xff = head.forwarded_for
        peer = conn.peer
        parts = [
            head.raw_method,
            b" ",
            head.target,
            b" HTTP/1.1\r\n",
            head.block,
            b"x-forwarded-for: ",
            peer if xff is None else xff + b", " + peer,
            b"\r\nx-forwarded-proto: http\r\n",
        ]
        if head.request_id is None:
            parts += (b"x-request-id: ", rid, b"\r\n")
        parts.append(b"\r\n")
        self.complete = complete
        self.prebuilt = complete  # the body is in ``wire``: kept for every attempt
        if complete:
            if head.chunked:
                size = sum(len(c) for c in chunks)
                if size:
                    parts += (b"%x\r\n" % size, *chunks, b"\r\n")
                parts.append(_LAST_CHUNK)
            else:
                parts += chunks
            self.pending: list[bytes] = []
        else:
            self.pending = chunks
        self.wire = b"".join(parts)
        self.body_sent = False  # a streamed body byte went to a backend (and is not kept)
        self.tried: list[str] = []
        self.last = "no backend tried"
        self.backend: Backend | None = None
        self.upstream: Upstream | None = None
        self.connecting: asyncio.Task[None] | None = None
        self.framing = _NONE
        self.responding = False  # the answer's head was taken: no retry from here on
        self.out: list[bytes] = []  # the answer's bytes from the read at hand
        self.keep_alive = head.keep_alive
        self.aborted = False
        self.waiting = False  # the client's reading paused until an upstream is there
        self.started = 0.0
        hash_header = balancer.hash_header
        self.key = head.header(hash_header) if hash_header is not None else None
        if balancer.private_paths.refuses(head.target):
            REFUSED.labels("404").inc()
            self._error(404, "not found")
            return
        self._attempt()

    # -- attempts ---------------------------------------------------------------------

    def _attempt(self) -> None:
        balancer = self.balancer
        backend = balancer.pick(self.tried, self.key)
        if backend is None:
            REFUSED.labels("503").inc()
            self._error(503, f"no backend available ({self.last})")
            return
        self.tried.append(backend.name)
        backend.outstanding += 1
        self.backend = backend
        self.started = balancer.clock()
        upstream = balancer.checkout(backend)
        if upstream is not None:
            self._send(upstream)
        else:
            self.connecting = balancer.connect(backend, self)

    def connected(self, upstream: Upstream) -> None:
        self.connecting = None
        if self.aborted:
            self.balancer.release(upstream, reusable=True)
            return
        self._send(upstream)

    def connect_failed(self, why: str) -> None:
        self.connecting = None
        if not self.aborted:
            self._failed(ConnectionFailure.CONNECT, why)

    def _send(self, upstream: Upstream) -> None:
        assert upstream.transport is not None
        self.upstream = upstream
        upstream.bind(self)
        if self.waiting:
            self.waiting = False
            self.conn.resume_reading()
        write = upstream.transport.write
        write(self.wire)
        if self.pending:
            pieces, self.pending = self.pending, []
            chunked = self.head.chunked
            for piece in pieces:
                write(_chunk(piece) if chunked else piece)
            self.body_sent = True
        if self.complete and not self.prebuilt and self.head.chunked:
            write(_LAST_CHUNK)

    def _end_attempt(self) -> Backend | None:
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.outstanding -= 1
        return backend

    def _failed(self, outcome: ConnectionFailure, why: str) -> None:
        backend = self._end_attempt()
        assert backend is not None
        balancer = self.balancer
        self.last = f"{backend.name}: {why}"
        balancer.observe(backend, outcome)
        decision = balancer.retries.decide(
            self.head.method,
            outcome,
            tried=self.tried,
            now=balancer.clock(),
            replayable=self.prebuilt or not self.body_sent,
        )
        if isinstance(decision, GiveUp):
            status = 504 if outcome is ConnectionFailure.TIMEOUT else 502
            REFUSED.labels(str(status)).inc()
            self._error(status, f"{self.last}; {decision.reason}")
        else:
            log.info(decision.reason, backend=backend.name)
            self._attempt()

    def _error(self, status: int, reason: str) -> None:
        keep_alive = self.keep_alive and self.complete
        self.conn.write(error_bytes(status, reason, keep_alive=keep_alive, request_id=self.rid))
        self.conn.finish(keep_alive)

    # -- from the upstream ----------------------------------------------------------

    def response_head(
        self,
        upstream: Upstream,
        status: int,
        line: bytes,
        block: bytes,
        framing: int,
        chunked: bool,
    ) -> None:
        balancer = self.balancer
        backend = self.backend
        assert backend is not None
        now = balancer.clock()
        elapsed = now - self.started
        backend.ewma.observe(elapsed, now)
        assert backend.metrics is not None
        backend.metrics.latency(elapsed)
        balancer.observe(backend, status)
        if status in RETRY_STATUSES:
            decision = balancer.retries.decide(
                self.head.method,
                status,
                tried=self.tried,
                now=now,
                replayable=self.prebuilt or not self.body_sent,
            )
            if not isinstance(decision, GiveUp):  # nothing of it went to the client
                log.info(decision.reason, backend=backend.name)
                self.last = f"{backend.name} answered {status}"
                self.upstream = None
                upstream.close()
                self._end_attempt()
                self._attempt()
                return
        self.responding = True
        self.framing = framing
        if framing == _CLOSE:
            self.keep_alive = False
        if self.keep_alive:
            connection = b"" if self.head.http_11 else b"connection: keep-alive\r\n"
        else:
            connection = b"connection: close\r\n"
        add_chunked = framing == _CHUNKED_OUT and not chunked
        self.out.append(
            b"".join(
                (
                    line,
                    block,
                    b"x-request-id: ",
                    self.rid,
                    b"\r\ntransfer-encoding: chunked\r\n" if add_chunked else b"\r\n",
                    connection,
                    b"\r\n",
                )
            )
        )

    def response_body(self, data: bytes) -> None:
        if data:
            framing = self.framing
            if framing in (_SIZED, _CLOSE):
                self.out.append(data)
            elif framing == _CHUNKED_OUT:
                self.out.append(_chunk(data))

    def flush(self) -> None:
        """Write what the answer's read at hand brought, at once."""
        out = self.out
        if out:
            self.out = []
            self.conn.write(out[0] if len(out) == 1 else b"".join(out))

    def response_end(self, upstream: Upstream) -> None:
        if self.framing == _CHUNKED_OUT:
            self.out.append(_LAST_CHUNK)
        self.flush()
        self.upstream = None
        # The connection can carry another request only if this one went out whole.
        self.balancer.release(upstream, reusable=upstream.keep_alive and self.complete)
        self._end_attempt()
        self.conn.finish(self.keep_alive)

    def upstream_failed(self, upstream: Upstream, why: str) -> None:
        self.upstream = None
        if self.responding:
            self._cut(f"{why} in the middle of the response")
        else:
            self._failed(ConnectionFailure.RESET, why)

    def upstream_timed_out(self, upstream: Upstream) -> None:
        self.upstream = None
        if self.responding:
            self._cut("no response byte in time in the middle of the response")
        else:
            self._failed(ConnectionFailure.TIMEOUT, "no response in time")

    def _cut(self, why: str) -> None:
        self.flush()  # what came before the failure
        backend = self._end_attempt()
        log.warning(f"lb: response cut: {why}", backend=backend.name if backend else None)
        self.conn.abandon()

    # -- from the client connection (the Exchange protocol) ---------------------------

    def body(self, data: bytes) -> None:
        if not data:
            return
        upstream = self.upstream
        if upstream is None or upstream.transport is None:
            self.pending.append(data)
            if not self.waiting:  # connecting, or between attempts
                self.waiting = True
                self.conn.pause_reading()
            return
        if not upstream.transport.is_closing():  # else its loss is being reported
            upstream.transport.write(_chunk(data) if self.head.chunked else data)
        self.body_sent = True

    def end(self) -> None:
        self.complete = True
        transport = self.upstream.transport if self.upstream is not None else None
        if transport is not None and self.head.chunked and not transport.is_closing():
            transport.write(_LAST_CHUNK)

    def abort(self) -> None:
        self.aborted = True
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.close()
        self._end_attempt()

    def pause_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.pause()

    def resume_writing(self) -> None:
        if self.upstream is not None:
            self.upstream.resume()


class Balancer:
    """The backends of one balancer and the request path through them.

    ``settings`` are every knob (:class:`~millionscale.lb.settings.BalancerSettings`);
    ``changes`` replace some of its top-level fields, as a shorthand
    (``Balancer(policy="round-robin")``). ``clock`` and ``rng`` are for tests.
    Backends come from :meth:`add` (the admin API), or from discovery
    (:meth:`follow`).
    """

    def __init__(
        self,
        settings: BalancerSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        **changes: Any,
    ) -> None:
        settings = settings or BalancerSettings()
        if changes:
            try:
                settings = dataclasses.replace(settings, **changes)
            except TypeError:
                unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(settings)})
                raise ConfigError(
                    f"no balancer setting {', '.join(unknown)}",
                    hint="see BalancerSettings' fields",
                ) from None
        self.settings = settings
        self.policy = settings.make_policy(rng)
        self.private_paths = PrivatePaths(settings.private_paths)  # answered 404, never forwarded
        self.clock = clock
        self.backends: dict[str, Backend] = {}
        self.outliers = OutlierDetector(policy=settings.outliers)
        self.retries = Retries(settings.retries, settings.budget.budget())
        self.connect_timeout_s = settings.connect_timeout_s
        self.response_timeout_s = settings.response_timeout_s
        self.pool_idle_s = settings.pool_idle_s
        self.pool_max_idle = settings.pool_max_idle
        self.replay_bytes = settings.replay_bytes
        hash_header = settings.hash_header
        self.hash_header = hash_header.lower().encode() if hash_header else None
        self._check_head = f"GET {settings.check_path} HTTP/1.1\r\nhost: "
        self._checker: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._followed: Mapping[str, str] = {}  # the membership task's memory (.membership)
        self._leaving: frozenset[str] = frozenset()
        self._tasks: set[asyncio.Task[None]] = set()
        self.clients: set[ServerConnection] = set()  # open client connections
        self._rid_prefix = secrets.token_hex(8).encode()
        self._rid_counter = itertools.count(1)

    # -- membership ----------------------------------------------------------------

    def add(
        self, name: str, host: str, port: int, *, weight: int = 1, initial: bool = False
    ) -> None:
        """Add a backend; ``initial`` ones serve at once, later ones after passing
        checks and then with slow start. :class:`Conflict` if ``name`` is a member."""
        if name in self.backends:
            raise Conflict(f"backend {name!r} already exists", hint="remove it first")
        now = self.clock()
        settings = self.settings
        init = settings.init_state if initial else InitState.FULLY_DOWN
        health = HealthCheck(name, now=now, policy=settings.health, init=init)
        ewma = Ewma(now=now, decay_s=settings.ewma_decay_s, initial_s=settings.ewma_default_rtt_s)
        backend = Backend(name, host, port, health, ewma, weight)
        backend.metrics = backend_metrics(name)
        self.backends[name] = backend
        self.outliers.add(name)
        HEALTHY.labels(name).set(1 if health.serving else 0)
        log.info(f"backend {name} added at {host}:{port}", backend=name)

    def drain(self, name: str, timeout_s: float | None = None) -> str:
        backend = self._get(name)
        transition = backend.health.drain(self.clock(), timeout_s=timeout_s)
        log.info(transition.reason, backend=name)
        return transition.reason

    def remove(self, name: str) -> None:
        backend = self.backends.pop(self._get(name).name)
        backend.removed = True
        self.outliers.remove(name)
        for upstream in backend.idle:
            upstream.close()
        backend.idle.clear()
        HEALTHY.labels(name).set(0)
        log.info(f"backend {name} removed", backend=name)

    async def follow(self, discovery: Discovery, tier: str) -> None:
        """Take ``tier``'s ready members from ``discovery`` as backends now (they serve at
        once, as backends there at the start do), then follow its changes in a task
        (:mod:`.membership`'s rules) until :meth:`stop`.

        Raises :class:`~millionscale.errors.DiscoveryError` if the first snapshot
        cannot be had; later, an unreachable source keeps the last view.
        """
        snapshot = await discovery.snapshot()
        self._reconcile(snapshot, tier, initial=True)
        self._follower = asyncio.create_task(
            self._follow(discovery, tier, snapshot), name="lb-membership"
        )

    async def _follow(self, discovery: Discovery, tier: str, first: Snapshot) -> None:
        async for snapshot in follow(discovery, first, every_s=RECONCILE_S):
            try:
                self._reconcile(snapshot, tier, initial=False)
            except MillionscaleError as error:  # a decision the state refused: next time
                log.warning(f"membership: {error.one_line()}")

    def _reconcile(self, snapshot: Snapshot, tier: str, *, initial: bool) -> None:
        present = [
            Present(b.name, b.address, b.health.state is State.DRAINING, b.outstanding)
            for b in self.backends.values()
        ]
        plan = reconcile(
            present, snapshot, tier, followed=self._followed, leaving=self._leaving, initial=initial
        )
        self._followed, self._leaving = plan.followed, plan.leaving
        for decision in plan.decisions:
            log.info(decision.reason, backend=decision.name, version=snapshot.version)
            match decision:
                case Add(name, host, port, initial=first):
                    self.add(name, host, port, initial=first)
                case Drain(name):
                    self.drain(name)
                case Remove(name):
                    self.remove(name)

    def _get(self, name: str) -> Backend:
        if name not in self.backends:
            known = ", ".join(sorted(self.backends)) or "none"
            raise NotFound(f"no backend {name!r} (backends: {known})", hint="see lb status")
        return self.backends[name]

    # -- the request path ------------------------------------------------------------

    async def serve(
        self, host: str, port: int, *, limits: HttpLimits | None = None, backlog: int = 1024
    ) -> asyncio.Server:
        """Listen for clients on ``host:port`` and balance their requests."""
        chosen = limits or self.settings.limits

        def refused(status: int, _reason: str) -> None:
            REFUSED.labels(str(status)).inc()

        start = functools.partial(_Forward, self)  # what self.exchange does, a call less

        def connection() -> ServerConnection:
            return ServerConnection(
                start,
                chosen,
                buffer_bytes=self.replay_bytes,
                on_refused=refused,
                registry=self.clients,
            )

        loop = asyncio.get_running_loop()
        return await loop.create_server(connection, host, port, backlog=backlog)

    def exchange(
        self, conn: ServerConnection, head: RequestHead, chunks: list[bytes], complete: bool
    ) -> Exchange:
        """Forward one request read by ``conn`` (a :data:`~.http.StartExchange`)."""
        return _Forward(self, conn, head, chunks, complete)

    def new_request_id(self) -> bytes:
        """Unique per balancer: a random 64-bit prefix per process and a counter."""
        return b"%b-%x" % (self._rid_prefix, next(self._rid_counter))

    def pick(self, tried: list[str], key: bytes | None) -> Backend | None:
        now = self.clock()
        ejected = self.outliers.ejected(now)
        views = [  # (name, weight, eligible, outstanding, latency_s, slow_start)
            BackendView(
                b.name,
                b.weight,
                b.health.serving and b.name not in ejected,
                b.outstanding,
                b.ewma.value(now),
                b.health.slow_start_factor(now),
            )
            for b in self.backends.values()
        ]
        decision = self.policy.pick(
            views,
            key=key.decode("latin-1") if key else None,
            exclude=frozenset(tried) if tried else _NO_ONE,
        )
        if isinstance(decision, NoBackend):
            return None
        return self.backends.get(decision.backend)

    def observe(self, backend: Backend, outcome: Outcome) -> None:
        """An attempt's outcome, to the metrics and to outlier detection."""
        backend.count(outcome)
        ejection = self.outliers.on_response(backend.name, outcome, self.clock())
        if ejection is not None:
            EJECTIONS.labels(backend.name).inc()
            log.warning(getattr(ejection, "reason", str(ejection)), backend=backend.name)

    # -- connection pools ------------------------------------------------------------

    def checkout(self, backend: Backend) -> Upstream | None:
        """The most recently used live idle connection to ``backend``, if any."""
        idle = backend.idle
        if not idle:
            return None
        oldest = self.clock() - self.pool_idle_s
        while idle:
            upstream = idle.pop()
            transport = upstream.transport
            if (
                upstream.idle_since > oldest
                and transport is not None
                and not transport.is_closing()  # the backend has not closed it
            ):
                return upstream
            upstream.close()
        return None

    def release(self, upstream: Upstream, *, reusable: bool) -> None:
        backend = upstream.backend
        if (
            reusable
            and not upstream.broken
            and not upstream.closed
            and not backend.removed
            and len(backend.idle) < self.pool_max_idle
        ):
            upstream.forward = None
            upstream.resume()
            upstream.idle_since = self.clock()
            backend.idle.append(upstream)
        else:
            upstream.close()

    def connect(self, backend: Backend, forward: _Forward) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._connect(backend, forward))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _connect(self, backend: Backend, forward: _Forward) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, upstream = await loop.create_connection(
                    lambda: Upstream(backend, self.response_timeout_s), backend.host, backend.port
                )
        except TimeoutError:
            forward.connect_failed("connect timed out")
        except OSError as error:
            forward.connect_failed(f"connect failed: {error}")
        else:
            forward.connected(upstream)

    def _sweep(self) -> None:
        """Close pooled connections idle past ``pool_idle_s``."""
        oldest = self.clock() - self.pool_idle_s
        for backend in self.backends.values():
            stale = [u for u in backend.idle if u.closed or u.idle_since <= oldest]
            if stale:
                backend.idle = [u for u in backend.idle if u not in stale]
                for upstream in stale:
                    upstream.close()

    # -- health checks -------------------------------------------------------------------

    def start(self) -> None:
        self._checker = asyncio.create_task(self._check_forever(), name="lb-health")

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop checking; close client connections once their requests are answered, for
        at most ``grace_s`` (then cut), and every backend connection."""
        for task in (self._follower, self._checker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for conn in list(self.clients):
            conn.close()
        for _ in range(math.ceil(grace_s / 0.05)):
            if not self.clients:
                break
            await asyncio.sleep(0.05)
        for conn in list(self.clients):
            conn.abandon()
        for task in list(self._tasks):
            task.cancel()
        for backend in self.backends.values():
            for upstream in backend.idle:
                upstream.close()
            backend.idle.clear()
        for _ in range(3):  # let the transports report their closing
            await asyncio.sleep(0)

    async def _check_forever(self) -> None:
        swept = self.clock()
        while True:
            now = self.clock()
            for backend in list(self.backends.values()):
                if backend.health.state is State.DRAINING:
                    transition = backend.health.poll_drain(backend.outstanding, now)
                    if transition.after is State.REMOVED:
                        log.info(transition.reason, backend=backend.name)
                        self.remove(backend.name)
                        continue
                if not backend.checking and now >= backend.health.next_check_at:
                    backend.checking = True
                    task = asyncio.create_task(self._check(backend))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            if now - swept >= SWEEP_S:
                swept = now
                self._sweep()
            await asyncio.sleep(0.05)

    async def _check(self, backend: Backend) -> None:
        ok = False
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(backend.health.policy.check_timeout_s):
                answered: asyncio.Future[bytes] = loop.create_future()
                request = (
                    f"{self._check_head}{backend.address}\r\nconnection: close\r\n\r\n".encode()
                )
                transport, _ = await loop.create_connection(
                    lambda: _Check(request, answered), backend.host, backend.port
                )
                try:
                    status = (await answered).split(b" ", 2)
                    ok = len(status) > 1 and status[1].startswith(b"2")
                finally:
                    transport.close()
        except (OSError, TimeoutError, ConnectionError):
            ok = False
        finally:
            backend.checking = False
        if self.backends.get(backend.name) is not backend:
            return  # removed while checked (and maybe added again: a new record)
        transition = backend.health.on_check(ok, self.clock())
        if transition.changed:
            log.info(transition.reason, backend=backend.name)
            HEALTHY.labels(backend.name).set(1 if backend.health.serving else 0)

    # -- introspection --------------------------------------------------------------------

    def statistics(self) -> BalancerStatistics:
        """Every backend and core as of now (a frozen record; taking it changes nothing)."""
        now = self.clock()
        ejected = self.outliers.ejected(now)
        return BalancerStatistics(
            policy=self.policy.name,
            backends=tuple(
                BackendStatistics(
                    name=b.name,
                    address=b.address,
                    weight=b.weight,
                    state=b.health.state,
                    serving=b.health.serving,
                    ejected=b.name in ejected,
                    outstanding=b.outstanding,
                    idle_connections=len(b.idle),
                    latency_s=b.ewma.value(now),
                    slow_start=b.health.slow_start_factor(now),
                    health=b.health.statistics(),
                )
                for b in self.backends.values()
            ),
            picks=self.policy.statistics(),
            outliers=self.outliers.statistics(),
            retries=self.retries.statistics(),
            clients=len(self.clients),
        )


class _Check(asyncio.Protocol):
    """A health check's connection: sends the request, resolves with the status line."""

    def __init__(self, request: bytes, answered: asyncio.Future[bytes]) -> None:
        self._request = request
        self._answered = answered
        self._received = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).write(self._request)

    def data_received(self, data: bytes) -> None:
        self._received += data
        line, found, _ = self._received.partition(b"\r\n")
        if (found or len(self._received) > 1024) and not self._answered.done():
            self._answered.set_result(line)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._answered.done():
            self._answered.set_exception(ConnectionError("closed before a status line"))
